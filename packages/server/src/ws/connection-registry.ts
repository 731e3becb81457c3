// This server's connections by user, session and device, with each connected user's frame budget: the bus's sink.
import { assertNever, deviceKey, type ErrorCode } from "@parley/protocol";
import type { BusSink, ControlEvent } from "../bus/bus.js";
import type { DeviceStream } from "../domain/device-stream.js";
import { ParleyError } from "../domain/errors.js";
import type { SessionId, UserId } from "../domain/ids.js";
import { TokenBuckets } from "../domain/token-bucket.js";
import type { Connection } from "./connection.js";
import { type WireFrame, wireFrame } from "./wire-frame.js";

export interface ConnectionRegistryOptions {
  /** LIMIT-2: frames per second and burst per user. */
  frameRate: number;
  frameBurst: number;
  /** Control events about caches in domain/ (membership, followers). */
  invalidate: (
    event: Extract<ControlEvent, { type: "membership.changed" | "subscriptions.changed" }>,
  ) => void;
  /** Deliveries made to local connections, for /metrics. */
  delivered: (count: number) => void;
  /** A device stream failed while reading on after `queue.written`. */
  onStreamError: (err: unknown) => void;
}

/**
 * Every open connection (for heartbeats and shutdown) and the authenticated ones by user,
 * session and device, so that the bus's deliveries and control events find their sockets.
 */
export class ConnectionRegistry implements BusSink {
  readonly #all = new Set<Connection>();
  readonly #byUser = new Map<UserId, Set<Connection>>();
  readonly #bySession = new Map<SessionId, Set<Connection>>();
  readonly #byDevice = new Map<string, Set<Connection>>();
  readonly #budgets: TokenBuckets;

  constructor(private readonly o: ConnectionRegistryOptions) {
    this.#budgets = new TokenBuckets(o.frameRate, o.frameBurst);
  }

  get size(): number {
    return this.#all.size;
  }

  /** Users holding a frame budget here: those with an authenticated connection. */
  get budgetedUsers(): number {
    return this.#budgets.size;
  }

  all(): Iterable<Connection> {
    return this.#all;
  }

  /** Closes every connection with `code`'s close code; one that does not close within `graceMs` is cut. */
  async closeAll(code: ErrorCode, graceMs: number): Promise<void> {
    const closing = [...this.all()].map(
      (conn) =>
        new Promise<void>((resolve) => {
          conn.ws.once("close", () => resolve());
          conn.close(code);
          setTimeout(() => {
            conn.ws.terminate();
            resolve();
          }, graceMs).unref();
        }),
    );
    await Promise.all(closing);
  }

  opened(conn: Connection): void {
    this.#all.add(conn);
  }

  authenticated(conn: Connection): void {
    const auth = conn.auth;
    if (!auth) throw new TypeError("connection is not authenticated");
    addTo(this.#byUser, auth.userId, conn);
    addTo(this.#bySession, auth.sessionId, conn);
    if (conn.deviceId !== null) addTo(this.#byDevice, deviceKey(auth.userId, conn.deviceId), conn);
  }

  /**
   * Forgets a closed connection; false when it was not registered (closed twice). The user's
   * frame budget goes with their last connection here, so the budgets do not grow without end.
   */
  closed(conn: Connection): boolean {
    if (!this.#all.delete(conn)) return false;
    const auth = conn.auth;
    if (!auth) return true;
    if (removeFrom(this.#byUser, auth.userId, conn)) this.#budgets.forget(auth.userId);
    removeFrom(this.#bySession, auth.sessionId, conn);
    if (conn.deviceId !== null) removeFrom(this.#byDevice, deviceKey(auth.userId, conn.deviceId), conn);
    return true;
  }

  /** LIMIT-2: takes `cost` frame tokens of the user; 0 when allowed, else ms to wait. */
  take(userId: UserId, cost = 1): number {
    return this.#budgets.take(userId, cost);
  }

  /** RELAY-2: the frame is framed once, and that buffer written to every recipient's socket. */
  deliverLocal(userIds: readonly UserId[], frame: Buffer, exceptConnection?: string): void {
    let wire: WireFrame | undefined;
    let delivered = 0;
    for (const userId of userIds) {
      const conns = this.#byUser.get(userId);
      if (!conns) continue;
      for (const conn of conns) {
        if (conn.id === exceptConnection) continue;
        wire ??= wireFrame(frame);
        conn.deliver(wire);
        delivered++;
      }
    }
    this.o.delivered(delivered);
  }

  deliverLocalDevice(userId: UserId, deviceId: string, frame: Buffer): void {
    const conns = this.#byDevice.get(deviceKey(userId, deviceId));
    if (!conns) return;
    const wire = wireFrame(frame);
    for (const conn of conns) conn.deliver(wire);
  }

  hasLocalDevice(userId: UserId, deviceId: string): boolean {
    return this.#byDevice.has(deviceKey(userId, deviceId));
  }

  onControl(event: ControlEvent): void {
    switch (event.type) {
      case "session.revoked":
        for (const conn of this.#bySession.get(event.sessionId) ?? []) {
          conn.sendError(new ParleyError(event.reason));
          conn.close(event.reason);
        }
        return;
      case "device.removed":
        for (const conn of this.#byDevice.get(deviceKey(event.userId, event.deviceId)) ?? []) {
          conn.sendError(new ParleyError("device_removed"));
          conn.close("device_removed");
        }
        return;
      case "queue.written":
        // In the connection's frame order, so a page never overtakes an answer (WS-4).
        for (const d of event.devices) {
          for (const conn of this.#byDevice.get(deviceKey(d.userId, d.deviceId)) ?? []) {
            const stream = conn.stream;
            if (stream) conn.serially(stream, queueWritten, this.o.onStreamError);
          }
        }
        return;
      case "membership.changed":
      case "subscriptions.changed":
        this.o.invalidate(event);
        return;
      default:
        assertNever(event);
    }
  }
}

function queueWritten(stream: DeviceStream): Promise<void> {
  return stream.queueWritten();
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

/** Removes `value`; true when that emptied the key's set. */
function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): boolean {
  const set = map.get(key);
  if (!set?.delete(value)) return false;
  if (set.size > 0) return false;
  map.delete(key);
  return true;
}
