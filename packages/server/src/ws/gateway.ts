import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import {
  assertNever,
  type ClientFrame,
  deviceKey,
  type ErrorCode,
  PROTOCOL_VERSION,
  WS_PATH,
} from "@parley/protocol";
import type { Logger } from "pino";
import { type RawData, WebSocketServer } from "ws";
import type { Bus, BusSink, ControlEvent } from "../bus/bus.js";
import type { Config } from "../config/config.js";
import type { AccountService } from "../domain/accounts.js";
import type { DeliveryService } from "../domain/delivery.js";
import type { DeviceStreams } from "../domain/device-stream.js";
import { ParleyError } from "../domain/errors.js";
import { asUserId, type SessionId, type UserId } from "../domain/ids.js";
import type { MembershipCache } from "../domain/membership-cache.js";
import { announcePresence, PresenceBatcher } from "../domain/presence.js";
import type { Relay } from "../domain/relay.js";
import type { RoomService } from "../domain/rooms.js";
import type { SubscriptionService } from "../domain/subscriptions.js";
import { TokenBuckets } from "../domain/token-bucket.js";
import type { Metrics } from "../ops/metrics.js";
import { Connection } from "./connection.js";
import { FrameError, FrameParser } from "./frame-parser.js";

export interface GatewayOptions {
  config: Config;
  bus: Bus;
  accounts: AccountService;
  delivery: DeliveryService;
  rooms: RoomService;
  relay: Relay;
  subscriptions: SubscriptionService;
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

/** Invalid frames a connection may send before it is closed (WS-3). */
const MAX_INVALID_FRAMES = 10;

/**
 * The WebSocket side of the server: upgrade checks, authentication, frame validation, rate
 * limits, heartbeats, and delivery to local devices. It translates; the rules live in domain/.
 */
export class Gateway implements BusSink {
  readonly #wss: WebSocketServer;
  readonly #parser = new FrameParser();
  readonly #byUser = new Map<UserId, Set<Connection>>();
  readonly #bySession = new Map<SessionId, Set<Connection>>();
  readonly #byDevice = new Map<string, Set<Connection>>();
  readonly #all = new Set<Connection>();
  readonly #buckets: TokenBuckets;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #allowedOrigins: ReadonlySet<string>;
  readonly #presence: PresenceBatcher;
  readonly #onSent = () => {
    this.o.metrics.framesOut++;
  };

  constructor(private readonly o: GatewayOptions) {
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: o.config.maxFrameBytes,
      clientTracking: false,
    });
    this.#buckets = new TokenBuckets(o.config.msgRate, o.config.msgBurst);
    this.#allowedOrigins = new Set(o.config.allowedOrigins);
    this.#heartbeat = setInterval(() => this.#beat(), o.config.heartbeatS * 1000);
    this.#heartbeat.unref();
    this.#presence = new PresenceBatcher({
      flush: (changes) => {
        announcePresence(this.o.bus, changes).catch((err: unknown) => {
          this.o.log.error({ err, event: "presence_error" }, "presence update failed");
        });
      },
    });
    o.bus.attach(this);
  }

  attach(server: Server): void {
    server.on("upgrade", (req, socket, head) => this.#upgrade(req, socket, head));
  }

  get connectionCount(): number {
    return this.#all.size;
  }

  // ------------------------------------------------------------------ upgrade

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? "";
    if (url !== WS_PATH && !url.startsWith(`${WS_PATH}?`)) {
      refuse(socket, 404, "Not Found", "not_found");
      return;
    }
    // WS-2: Cross-Site WebSocket Hijacking defence. Browsers always send Origin; it must be this
    // server's own origin or one the operator allowed. Clients that are not browsers send none.
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#originAllowed(origin, req)) {
      this.o.log.warn({ event: "ws_origin_refused", ip: this.o.clientIp(req) }, "foreign origin refused");
      refuse(socket, 403, "Forbidden", "origin_forbidden");
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Connection(
        randomUUID(),
        ws,
        this.o.clientIp(req),
        this.o.config.sendBufferBytes,
        this.#onSent,
      );
      this.#open(conn);
    });
  }

  #originAllowed(origin: string, req: IncomingMessage): boolean {
    if (this.#allowedOrigins.has(origin)) return true;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return false;
    }
    const tls = "encrypted" in req.socket && req.socket.encrypted === true;
    return parsed.protocol === (tls ? "https:" : "http:") && parsed.host === req.headers.host;
  }

  // ------------------------------------------------------------------ lifecycle

  #open(conn: Connection): void {
    this.#all.add(conn);
    this.o.metrics.connections.inc();
    conn.authTimer = setTimeout(() => conn.close("auth_timeout"), this.o.config.authTimeoutMs);
    conn.ws.on("message", (data, isBinary) => this.#onMessage(conn, data, isBinary));
    conn.ws.on("pong", () => {
      conn.missedPongs = 0;
    });
    conn.ws.on("error", (err) => {
      // Oversized frames and protocol errors land here; ws closes the socket itself (1009/1002).
      this.o.log.debug(
        { event: "ws_error", conn: conn.id, code: (err as { code?: string }).code },
        "socket error",
      );
    });
    conn.ws.on("close", () => {
      void this.#closed(conn);
    });
  }

  async #closed(conn: Connection): Promise<void> {
    conn.closing = true;
    clearTimeout(conn.authTimer);
    if (!this.#all.delete(conn)) return;
    this.o.metrics.connections.dec();
    const auth = conn.auth;
    if (!auth) return;
    removeFrom(this.#byUser, auth.userId, conn);
    removeFrom(this.#bySession, auth.sessionId, conn);
    if (conn.deviceId !== null) removeFrom(this.#byDevice, deviceKey(auth.userId, conn.deviceId), conn);
    try {
      const { wentOffline } = await this.o.bus.connectionClosed(auth.userId, conn.id);
      if (wentOffline) this.#presence.add({ userId: auth.userId, username: auth.username, online: false });
    } catch (err) {
      this.o.log.error({ err, event: "presence_error" }, "presence update failed");
    }
  }

  #beat(): void {
    for (const conn of this.#all) {
      if (conn.missedPongs >= 2) {
        conn.close("heartbeat_timeout");
        conn.ws.terminate();
        continue;
      }
      conn.missedPongs++;
      conn.ws.ping();
    }
  }

  /** Closes every connection with 1001 (going away) and stops the heartbeat. */
  async shutdown(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#presence.stop();
    const closing = [...this.#all].map(
      (conn) =>
        new Promise<void>((resolve) => {
          conn.ws.once("close", () => resolve());
          conn.close("server_shutting_down");
          setTimeout(() => {
            conn.ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(closing);
    this.#wss.close();
  }

  // ------------------------------------------------------------------ frames

  #onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    this.o.metrics.framesIn++;
    if (conn.closing) return;
    let frame: ClientFrame;
    try {
      if (isBinary) throw new ParleyError("binary_frames_unsupported");
      frame = this.#parser.parse(rawToString(data));
    } catch (e) {
      const err = e instanceof ParleyError ? e : new ParleyError("validation_failed");
      conn.invalidFrames++;
      if (!conn.auth) conn.close("auth_required");
      else if (conn.invalidFrames > MAX_INVALID_FRAMES) conn.close("too_many_invalid_frames");
      else conn.sendError(err, e instanceof FrameError ? e.rid : undefined);
      return;
    }
    conn.serially(
      () => this.#handle(conn, frame),
      (e: unknown) => this.#fail(conn, e, frame),
    );
  }

  async #fail(conn: Connection, e: unknown, frame: ClientFrame): Promise<void> {
    const rid = "rid" in frame ? frame.rid : undefined;
    let error: ParleyError;
    if (e instanceof ParleyError) {
      error = e;
    } else {
      this.o.log.error({ err: e, event: "frame_error", frameType: frame.type }, "frame handling failed");
      error = new ParleyError((await this.o.storageUp()) ? "internal_error" : "service_unavailable");
    }
    conn.sendError(error, rid);
    // A connection that could not be authenticated gets no second chance and no open socket.
    if (!conn.auth) conn.close(error.code);
  }

  async #handle(conn: Connection, frame: ClientFrame): Promise<void> {
    if (conn.closing) return;
    if (!conn.auth) {
      if (frame.type !== "auth") return conn.close("auth_required");
      return this.#authenticate(conn, frame);
    }
    const auth = conn.auth;
    if (frame.type === "auth") throw new ParleyError("validation_failed", { details: ["/type"] });
    const wait = this.#buckets.take(auth.userId);
    if (wait > 0) throw new ParleyError("rate_limited", { retryAfterMs: wait });

    switch (frame.type) {
      case "message.send": {
        const to = frame.to;
        const { id, ts } =
          "room" in to
            ? await this.o.relay.toRoom(auth, conn.id, to.room, frame.payload)
            : await this.o.relay.toUser(auth, conn.id, asUserId(to.user), frame.payload);
        return conn.send({ type: "ack", ...rid(frame), id, ts });
      }
      case "typing":
        return this.o.relay.typing(auth, conn.id, frame.roomId, frame.active);
      case "room.create": {
        const result = await this.o.rooms.create(auth, {
          name: frame.name,
          ...(frame.topic !== undefined ? { topic: frame.topic } : {}),
          ...(frame.isPublic !== undefined ? { isPublic: frame.isPublic } : {}),
        });
        return conn.send({ type: "room", ...rid(frame), ...result });
      }
      case "room.join":
        return conn.send({ type: "room", ...rid(frame), ...(await this.o.rooms.join(auth, frame.roomId)) });
      case "direct.open":
        return conn.send({
          type: "room",
          ...rid(frame),
          ...(await this.o.rooms.openDirect(auth, asUserId(frame.userId))),
        });
      case "room.invite":
        await this.o.rooms.invite(auth, frame.roomId, asUserId(frame.userId));
        return conn.send({ type: "ok", ...rid(frame) });
      case "room.leave":
        await this.o.rooms.leave(auth, frame.roomId);
        return conn.send({ type: "ok", ...rid(frame) });
      case "room.remove":
        await this.o.rooms.remove(auth, frame.roomId, asUserId(frame.userId));
        return conn.send({ type: "ok", ...rid(frame) });
      case "room.list":
        return conn.send({ type: "rooms", ...rid(frame), rooms: await this.o.rooms.listMine(auth) });
      case "room.discover":
        return conn.send({ type: "rooms", ...rid(frame), rooms: await this.o.rooms.discover() });
      case "room.members":
        return conn.send({
          type: "members",
          ...rid(frame),
          ...(await this.o.rooms.members(auth, frame.roomId)),
        });
      case "subscribe":
        await this.o.subscriptions.subscribe(auth, asUserId(frame.userId));
        return conn.send({ type: "ok", ...rid(frame) });
      case "unsubscribe":
        await this.o.subscriptions.unsubscribe(auth, asUserId(frame.userId));
        return conn.send({ type: "ok", ...rid(frame) });
      case "subscriptions.list":
        return conn.send({
          type: "subscriptions",
          ...rid(frame),
          users: await this.o.subscriptions.list(auth),
        });
      case "device.register": {
        if (conn.deviceId !== frame.deviceId)
          throw new ParleyError("device_required", { details: ["/deviceId"] });
        const supply = await this.o.delivery.registerDevice(auth, frame);
        conn.send({ type: "keypackages.count", ...rid(frame), ...supply });
        // MLS-2, MLS-8, RELAY-6: the device's backlog follows the answer.
        return streamOf(conn).start();
      }
      case "keypackages.upload": {
        const supply = await this.o.delivery.uploadKeyPackages(
          auth,
          conn.deviceId,
          frame.keyPackages,
          frame.lastResort,
        );
        return conn.send({ type: "keypackages.count", ...rid(frame), ...supply });
      }
      case "keypackages.claim":
        return conn.send({
          type: "keypackages",
          ...rid(frame),
          ...(await this.o.delivery.claim(auth, asUserId(frame.userId))),
        });
      case "devices.list":
        return conn.send({
          type: "devices",
          ...rid(frame),
          ...(await this.o.delivery.devices(asUserId(frame.userId))),
        });
      case "mls.commit": {
        const accepted = await this.o.delivery.commit(auth, conn.deviceId, frame);
        return conn.send({ type: "mls.accepted", ...rid(frame), ...accepted });
      }
      case "mls.ack":
        return streamOf(conn).ackHandshakes(frame.upTo);
      case "queue.ack":
        return streamOf(conn).ackQueue(frame.upTo);
      case "mls.groupinfo.get":
        return conn.send({
          type: "mls.groupinfo",
          ...rid(frame),
          ...(await this.o.delivery.groupInfo(auth, frame.roomId)),
        });
      default:
        return assertNever(frame);
    }
  }

  async #authenticate(conn: Connection, frame: Extract<ClientFrame, { type: "auth" }>): Promise<void> {
    clearTimeout(conn.authTimer);
    if (frame.protocolVersion !== PROTOCOL_VERSION) return conn.close("unsupported_protocol_version");
    let auth: Awaited<ReturnType<AccountService["authenticate"]>>;
    try {
      auth = await this.o.accounts.authenticate(frame.token);
    } catch (e) {
      if (!(e instanceof ParleyError)) throw e;
      this.o.metrics.authFailures.inc({ kind: "ws_token" });
      conn.sendError(e);
      return conn.close(e.code);
    }
    if (conn.closing) return;
    const { count, cameOnline } = await this.o.bus.connectionOpened(auth.userId, conn.id);
    if (count > this.o.config.maxConnectionsPerUser) {
      await this.o.bus.connectionClosed(auth.userId, conn.id);
      return conn.close("too_many_connections");
    }
    if (count > 1 && this.o.config.duplicateLogin === "reject") {
      // The original distributed design: one live socket per account in the whole cluster.
      await this.o.bus.connectionClosed(auth.userId, conn.id);
      return conn.close("duplicate_login");
    }
    if (conn.closing) {
      // It went away while we were registering it.
      await this.o.bus.connectionClosed(auth.userId, conn.id);
      return;
    }
    conn.auth = auth;
    conn.deviceId = frame.deviceId ?? null;
    if (conn.deviceId !== null) conn.stream = this.o.streams.open(auth, conn.deviceId, streamOutput(conn));
    addTo(this.#byUser, auth.userId, conn);
    addTo(this.#bySession, auth.sessionId, conn);
    if (conn.deviceId !== null) addTo(this.#byDevice, deviceKey(auth.userId, conn.deviceId), conn);
    conn.send({
      type: "ready",
      user: { id: auth.userId, username: auth.username, isAdmin: auth.isAdmin },
      sessionId: auth.sessionId,
      protocolVersion: PROTOCOL_VERSION,
      serverTime: Date.now(),
      limits: {
        maxFrameBytes: this.o.config.maxFrameBytes,
        messageRate: this.o.config.msgRate,
        messageBurst: this.o.config.msgBurst,
      },
    });
    if (cameOnline) this.#presence.add({ userId: auth.userId, username: auth.username, online: true });
    // MLS-8, RELAY-6: everything still queued for this device, before anything newer.
    await conn.stream?.resume();
  }

  // ------------------------------------------------------------------ bus sink

  deliverLocal(userIds: readonly UserId[], frame: Buffer, exceptConnection?: string): void {
    let delivered = 0;
    for (const userId of userIds) {
      const conns = this.#byUser.get(userId);
      if (!conns) continue;
      for (const conn of conns) {
        if (conn.id === exceptConnection) continue;
        conn.sendRaw(frame);
        delivered++;
      }
    }
    this.o.metrics.deliveries += delivered;
  }

  deliverLocalDevice(userId: UserId, deviceId: string, frame: Buffer): void {
    for (const conn of this.#byDevice.get(deviceKey(userId, deviceId)) ?? []) conn.sendRaw(frame);
  }

  /**
   * RELAY-6: entries were queued for these devices. Normally none is connected here; one that
   * connected while they were written may have read its queue just before, so a connection
   * with no page outstanding reads on (in its frame order; an outstanding page's ack does it).
   */
  queueChanged(devices: readonly { userId: UserId; deviceId: string }[]): void {
    for (const d of devices) {
      for (const conn of this.#byDevice.get(deviceKey(d.userId, d.deviceId)) ?? []) {
        const stream = conn.stream;
        if (!stream) continue;
        conn.serially(
          () => stream.queueWritten(),
          (err: unknown) => {
            this.o.log.warn({ err, event: "offline_queue_failed" }, "could not send queued messages");
          },
        );
      }
    }
  }

  hasLocalDevice(userId: UserId, deviceId: string): boolean {
    return this.#byDevice.has(deviceKey(userId, deviceId));
  }

  onControl(event: ControlEvent): void {
    switch (event.type) {
      case "session.revoked": {
        for (const conn of this.#bySession.get(event.sessionId) ?? []) {
          conn.sendError(new ParleyError(event.reason));
          conn.close(event.reason);
        }
        return;
      }
      case "membership.changed":
        this.o.membership.invalidate(event.roomId);
        return;
      case "subscriptions.changed":
        this.o.subscriptions.invalidate(event.userId);
        return;
      case "queue.written":
        this.queueChanged(event.devices);
        return;
      default:
        assertNever(event);
    }
  }
}

/** The connection's device stream; frames about a device need one (MLS-6, RELAY-6). */
function streamOf(conn: Connection) {
  if (!conn.stream) throw new ParleyError("device_required");
  return conn.stream;
}

function streamOutput(conn: Connection) {
  return {
    send: (frame: Buffer) => conn.sendRaw(frame),
    get closed() {
      return conn.closing;
    },
  };
}

function rid(frame: { rid?: string }): { rid?: string } {
  return frame.rid !== undefined ? { rid: frame.rid } : {};
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

/** Refuses an upgrade with a plain HTTP answer carrying the registry's error body. */
function refuse(socket: Duplex, status: number, text: string, code: ErrorCode): void {
  const body = JSON.stringify(new ParleyError(code).toBody());
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Cache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
