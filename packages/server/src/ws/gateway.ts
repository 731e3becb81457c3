// The WebSocket transport: authenticates sockets (WS-1), validates frames (WS-3), applies the frame rate (LIMIT-2), keeps heartbeats and hands each frame to its handler.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { ClientFrame, ClientFrameOf } from "@parley/protocol";
import type { Logger } from "pino";
import type { RawData, WebSocket } from "ws";
import type { Bus } from "../bus/bus.js";
import type { Config } from "../config/config.js";
import type { AccountService } from "../domain/accounts.js";
import type { DeviceStreams } from "../domain/device-stream.js";
import { ParleyError } from "../domain/errors.js";
import type { UserId } from "../domain/ids.js";
import type { MembershipCache } from "../domain/membership-cache.js";
import type { Metrics } from "../ops/metrics.js";
import { SocketAuth } from "./authentication.js";
import { Connection } from "./connection.js";
import { ConnectionRegistry } from "./connection-registry.js";
import { FrameFailures } from "./frame-failures.js";
import { FRAME_HANDLERS, type FrameDomain, type FrameHandler } from "./frame-handlers.js";
import { FrameError, FrameParser } from "./frame-parser.js";
import { startHeartbeat } from "./heartbeat.js";
import { readyFrame } from "./ready-frame.js";
import { UpgradeHandler } from "./upgrade.js";
import { WriteBatch } from "./write-batch.js";

export interface GatewayOptions extends FrameDomain {
  config: Config;
  bus: Bus;
  accounts: AccountService;
  membership: MembershipCache;
  /** The devices' acked streams: handshake backlog and offline queue (MLS-8, RELAY-6). */
  streams: DeviceStreams;
  metrics: Metrics;
  log: Logger;
  /** False when the database does not answer (errors are then `service_unavailable`). */
  storageUp: () => Promise<boolean>;
  /** The client address as the HTTP layer sees it (honours trusted proxies). */
  clientIp: (req: IncomingMessage) => string;
}

/** A validated frame and the connection it came on, waiting for its turn (WS-4). */
class PendingFrame {
  constructor(
    readonly conn: Connection,
    readonly frame: ClientFrame,
  ) {}
}

/** Invalid frames a connection may send before it is closed (WS-3). */
const MAX_INVALID_FRAMES = 10;

/**
 * The WebSocket side of the server. It translates: sockets in, frames to the handlers of
 * frame-handlers.ts, deliveries out through the registry; the rules live in domain/.
 */
export class Gateway {
  readonly #upgrades: UpgradeHandler;
  readonly #parser = new FrameParser();
  readonly #failures: FrameFailures;
  readonly #registry: ConnectionRegistry;
  readonly #auth: SocketAuth;
  readonly #stopHeartbeat: () => void;
  /** Every connection's writes of one event-loop turn, each socket's in one write. */
  readonly #batch = new WriteBatch();
  readonly #onSent = () => {
    this.o.metrics.framesOut++;
  };

  constructor(private readonly o: GatewayOptions) {
    this.#failures = new FrameFailures(o.log, o.storageUp);
    this.#upgrades = new UpgradeHandler({
      maxFrameBytes: o.config.maxFrameBytes,
      allowedOrigins: o.config.allowedOrigins,
      onOriginRefused: (req) =>
        o.log.warn({ event: "ws_origin_refused", ip: o.clientIp(req) }, "foreign origin refused"),
      onSocket: (ws, req, socket) => this.#open(ws, req, socket),
    });
    this.#registry = new ConnectionRegistry({
      frameRate: o.config.frameRate,
      frameBurst: o.config.frameBurst,
      invalidate: (event) =>
        event.type === "membership.changed"
          ? o.membership.invalidate(event.roomId)
          : o.subscriptions.invalidate(event.userId),
      delivered: (count) => {
        o.metrics.deliveries += count;
      },
      onStreamError: (err) =>
        o.log.warn({ err, event: "offline_queue_failed" }, "could not send queued messages"),
    });
    this.#auth = new SocketAuth(o);
    this.#stopHeartbeat = startHeartbeat(() => this.#registry.all(), o.config.heartbeatS * 1000);
    o.bus.attach(this.#registry);
  }

  attach(server: Server): void {
    this.#upgrades.attach(server);
  }

  get connectionCount(): number {
    return this.#registry.size;
  }

  /** True when this device has an authenticated connection on this server. */
  hasLocalDevice(userId: UserId, deviceId: string): boolean {
    return this.#registry.hasLocalDevice(userId, deviceId);
  }

  #open(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    const conn = new Connection({
      id: randomUUID(),
      ws,
      socket,
      ip: this.o.clientIp(req),
      sendBufferBytes: this.o.config.sendBufferBytes,
      batch: this.#batch,
      onSent: this.#onSent,
    });
    this.#registry.opened(conn);
    this.o.metrics.connections.inc();
    conn.authTimer = setTimeout(() => conn.close("auth_timeout"), this.o.config.authTimeoutMs);
    ws.on("message", (data, isBinary) => this.#onMessage(conn, data, isBinary));
    ws.on("pong", () => {
      conn.missedPongs = 0;
    });
    ws.on("error", (err) => {
      // Oversized frames and protocol errors land here; ws closes the socket itself (1009/1002).
      this.o.log.debug(
        { event: "ws_error", conn: conn.id, code: (err as { code?: string }).code },
        "socket error",
      );
    });
    ws.on("close", () => void this.#closed(conn));
  }

  async #closed(conn: Connection): Promise<void> {
    conn.closing = true;
    clearTimeout(conn.authTimer);
    if (!this.#registry.closed(conn)) return;
    this.o.metrics.connections.dec();
    if (conn.auth) await this.#auth.signOff(conn.auth, conn.id);
  }

  /** Closes every connection with 1001 (going away) and stops the heartbeat. */
  async shutdown(): Promise<void> {
    this.#stopHeartbeat();
    this.#auth.stop();
    await this.#registry.closeAll("server_shutting_down", 2000);
    this.#upgrades.close();
  }

  #onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    this.o.metrics.framesIn++;
    if (conn.closing) return;
    let frame: ClientFrame;
    try {
      frame = this.#parser.parseMessage(data, isBinary);
    } catch (e) {
      const err = e instanceof ParleyError ? e : new ParleyError("validation_failed");
      conn.invalidFrames++;
      if (!conn.auth) conn.close("auth_required");
      else if (conn.invalidFrames > MAX_INVALID_FRAMES) conn.close("too_many_invalid_frames");
      else conn.sendError(err, e instanceof FrameError ? e.rid : undefined);
      return;
    }
    conn.serially(new PendingFrame(conn, frame), this.#handle, this.#fail);
  }

  readonly #fail = async (e: unknown, { conn, frame }: PendingFrame): Promise<void> => {
    const error = await this.#failures.describe(e, frame.type);
    conn.sendError(error, "rid" in frame ? frame.rid : undefined);
    // A connection that could not be authenticated gets no second chance and no open socket.
    if (!conn.auth) conn.close(error.code);
  };

  /** Handles one frame; a promise only when the frame has to wait for something (WS-4). */
  readonly #handle = ({ conn, frame }: PendingFrame): Promise<void> | undefined => {
    if (conn.closing) return undefined;
    const auth = conn.auth;
    if (!auth) {
      if (frame.type !== "auth") {
        conn.close("auth_required");
        return undefined;
      }
      return this.#authenticate(conn, frame);
    }
    if (frame.type === "auth") throw new ParleyError("validation_failed", { details: ["/type"] });
    const handler = FRAME_HANDLERS[frame.type] as FrameHandler<typeof frame.type>;
    const wait = this.#registry.take(auth.userId, handler.cost?.(frame) ?? 1);
    if (wait > 0) throw new ParleyError("rate_limited", { retryAfterMs: wait });
    // ACCT-1: a map lookup per frame; a database write at most once a minute per session.
    this.o.accounts.touch(auth.sessionId, conn.ip)?.catch(this.#touchFailed);
    const pending = handler.handle(this.o, { conn, auth }, frame);
    if (frame.type !== "message.send") return pending ?? undefined;
    if (!pending) {
      this.o.metrics.messages++;
      return undefined;
    }
    return pending.then(this.#countMessage);
  };

  readonly #touchFailed = (err: unknown): void => {
    this.o.log.warn({ err, event: "session_touch_failed" }, "could not record when a session was last seen");
  };

  readonly #countMessage = (): void => {
    this.o.metrics.messages++;
  };

  async #authenticate(conn: Connection, frame: ClientFrameOf<"auth">): Promise<void> {
    clearTimeout(conn.authTimer);
    const auth = await this.#auth.signOn(conn, frame);
    if (auth === undefined) return;
    conn.auth = auth;
    conn.deviceId = frame.deviceId ?? null;
    if (conn.deviceId !== null) {
      conn.stream = this.o.streams.open(auth, conn.deviceId, conn.streamOutput());
      // MLS-8: a Commit relayed while the backlog is read must not overtake the queued ones.
      conn.holdDeliveries();
    }
    this.#registry.authenticated(conn);
    conn.send(readyFrame(auth, this.o.config, Date.now()));
    // MLS-8, RELAY-6: everything still queued for this device, before anything newer.
    try {
      await conn.stream?.resume();
    } finally {
      conn.releaseDeliveries();
    }
  }
}
