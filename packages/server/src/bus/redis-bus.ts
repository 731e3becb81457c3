// The cluster bus on Redis: pub/sub fan-out to the nodes that host recipients, presence, control events.
import { randomBytes } from "node:crypto";
import { deviceKey } from "@parley/protocol";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { asUserId, type UserId } from "../domain/ids.js";
import { announcePresence, type PresenceChange } from "../domain/presence.js";
import { type Bus, type BusSink, type ControlEvent, isDurableControl } from "./bus.js";
import { encodeControl, parseControl } from "./control-codec.js";
import {
  BUS_PROTOCOL,
  decodeEntry,
  decodeMessage,
  ENVELOPE_DEVICE,
  ENVELOPE_USERS,
  type Envelope,
  encodeEntry,
  encodeLegacy,
  MAX_ENTRY_USERS,
} from "./envelope.js";
import { type LinkStore, RedisLinkStore } from "./link-store.js";
import { SCRIPTS, type ScriptedRedis } from "./redis-scripts.js";

export interface RedisBusOptions {
  /** `redis://` or `rediss://` URL (REDIS_URL). */
  url: string;
  /** This server's name in the cluster, 1-64 of `A-Z a-z 0-9 . _ -` (PARLEY_NODE_ID). */
  nodeId: string;
  log: Logger;
  /** Username for the presence frames the bus sends by itself (a crashed node's users going offline). */
  usernameOf: (userId: UserId) => Promise<string | undefined>;
  /** Prefix of every key and channel, so several Parleys or test runs can share one Redis. Default `parley:`. */
  keyPrefix?: string;
  /** How often a node refreshes its alive key and sweeps dead nodes. Default 5000 ms. */
  heartbeatMs?: number;
  /** Lifetime of a node's alive key; more than twice `heartbeatMs`. Default 15000 ms. */
  presenceTtlMs?: number;
  /** Longest a Redis command may take before the bus counts Redis as unreachable. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** Delay before reconnect attempt `attempt` (1, 2, ...), or null to give up. Default 50 ms per attempt, at most 2 s. */
  retryDelayMs?: (attempt: number) => number | null;
}

/** The options a server may tune without building the bus itself (StartOptions.redis). */
export type RedisBusTuning = Pick<
  RedisBusOptions,
  "keyPrefix" | "heartbeatMs" | "presenceTtlMs" | "commandTimeoutMs" | "retryDelayMs"
>;

export const DEFAULT_REDIS_KEY_PREFIX = "parley:";
const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Control events kept while Redis is unreachable, sent when it is back (oldest dropped beyond). */
const OUTBOX_LIMIT = 10_000;
/** A tick's deliveries go out as one script call up to this many entries or bytes, then another. */
const BATCH_ENTRIES = 1000;
const BATCH_BYTES = 1 << 20;
/** Malformed messages from Redis are logged at most this often (all are counted). */
const DROP_LOG_MS = 60_000;

/** What a bus dropped from Redis because it could not read it (RedisBus.dropped). */
export type BusDrops = {
  /** A message on this node's channel that is not a valid envelope or batch. */
  envelope: number;
  /** A message on the node channel in a bus protocol newer than this server's. */
  version: number;
  /** A malformed control event. */
  control: number;
};

/**
 * The bus of a Parley cluster: several servers on one Redis act as one. Frames for users on
 * other nodes go through Redis pub/sub on one channel per node, chosen from a presence index:
 * the frames of one event-loop tick cost one script call, and one PUBLISH per node that hosts a
 * recipient, whatever the number of frames and users (docs/OPERATIONS.md explains the choice). Local recipients get frames directly. Presence
 * expires with a node's alive key, so a crashed node's users go offline within
 * `presenceTtlMs + heartbeatMs`. While Redis is unreachable the node keeps serving its own
 * users, reports not healthy, and puts its presence back in order when Redis answers again.
 */
export class RedisBus implements Bus {
  readonly nodeId: string;
  readonly #o: Required<Omit<RedisBusOptions, "retryDelayMs">>;
  readonly links: LinkStore;
  readonly #pub: ScriptedRedis;
  readonly #sub: Redis;
  readonly #nodeChannel: string;
  readonly #controlChannel: string;
  /**
   * Tells this process's alive key apart from another's with the same node id, and tells the
   * other nodes which bus protocol this one speaks.
   */
  readonly #instance = `${BUS_PROTOCOL}:${randomBytes(8).toString("hex")}`;
  /** Messages from Redis this node could not read, by kind; also in /metrics. */
  readonly dropped: BusDrops = { envelope: 0, version: 0, control: 0 };
  #droppedLoggedAt = Number.NEGATIVE_INFINITY;
  /** Deliveries for other nodes waiting for the end of this tick (protocol-2 entries, in order). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #flushScheduled: NodeJS.Immediate | undefined;
  /** Other live nodes speaking another bus protocol than ours, from the last heartbeat. */
  #otherProtocols = new Map<string, number>();
  /** A node of protocol 1 is alive: send it what it reads (one envelope per script call). */
  #legacy = false;
  readonly #local = new Map<UserId, Set<string>>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #heartbeat: NodeJS.Timeout;
  #sink: BusSink | undefined;
  #outbox: ControlEvent[] = [];
  #subscribed = false;
  #registered = false;
  /** Redis may not match the local connections (a failed command, a reconnect): reconcile. */
  #dirty = true;
  #ticking = false;
  readonly #down = { pub: false, sub: false };
  #closed = false;

  constructor(options: RedisBusOptions) {
    const o = {
      keyPrefix: DEFAULT_REDIS_KEY_PREFIX,
      heartbeatMs: 5000,
      presenceTtlMs: 15_000,
      commandTimeoutMs: 2000,
      ...options,
    };
    if (!NODE_ID.test(o.nodeId)) {
      throw new TypeError(`nodeId must be 1-64 of A-Z a-z 0-9 . _ -, got "${o.nodeId}"`);
    }
    if (o.presenceTtlMs <= 2 * o.heartbeatMs) {
      throw new RangeError("presenceTtlMs must be more than twice heartbeatMs");
    }
    this.#o = o;
    this.nodeId = o.nodeId;
    this.#nodeChannel = `${o.keyPrefix}node:${o.nodeId}`;
    this.#controlChannel = `${o.keyPrefix}control`;
    const retryDelayMs = options.retryDelayMs ?? ((attempt: number) => Math.min(attempt * 50, 2000));
    const common = {
      retryStrategy: (attempt) => retryDelayMs(attempt),
      commandTimeout: o.commandTimeoutMs,
      // Fail at once while disconnected instead of queueing without bound: remote deliveries
      // are dropped (application messages are never stored), presence is reconciled later.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    } satisfies RedisOptions;
    this.#pub = new Redis(o.url, {
      ...common,
      connectionName: `parley:${o.nodeId}:bus-pub`,
      scripts: Object.fromEntries(
        Object.entries(SCRIPTS).map(([name, lua]) => [name, { lua, numberOfKeys: 0 }]),
      ),
    }) as ScriptedRedis;
    this.#sub = new Redis(o.url, {
      ...common,
      connectionName: `parley:${o.nodeId}:bus-sub`,
      // Subscribed again by hand on every "ready", so health follows the subscription itself.
      autoResubscribe: false,
    });
    this.links = new RedisLinkStore(this.#pub, o.keyPrefix);
    this.#watch(this.#pub, "pub");
    this.#watch(this.#sub, "sub");
    this.#pub.on("ready", () => {
      void this.#tick().then(() => this.#flushOutbox());
    });
    this.#sub.on("ready", () => {
      this.#sub.subscribe(this.#nodeChannel, this.#controlChannel).then(
        () => {
          this.#subscribed = true;
        },
        (err: unknown) => {
          this.#failed("subscribe", err);
          // Not subscribed on a live connection would leave the node deaf: start over.
          if (!this.#closed) this.#sub.disconnect(true);
        },
      );
    });
    this.#sub.on("close", () => {
      this.#subscribed = false;
    });
    this.#sub.on("messageBuffer", (channel: Buffer, message: Buffer) => this.#onMessage(channel, message));
    this.#heartbeat = setInterval(() => void this.#tick(), o.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Resolves true once connected, subscribed and registered, or false after `timeoutMs`. */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.healthy() && this.#registered)) {
      if (Date.now() >= deadline || this.#closed) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  attach(sink: BusSink): void {
    this.#sink = sink;
  }

  deliver(userIds: readonly UserId[], frame: Buffer, exceptConnection?: string): void {
    this.#sink?.deliverLocal(userIds, frame, exceptConnection);
    if (userIds.length === 0 || this.#pub.status !== "ready") return;
    for (let i = 0; i < userIds.length; i += MAX_ENTRY_USERS) {
      const part = userIds.length <= MAX_ENTRY_USERS ? userIds : userIds.slice(i, i + MAX_ENTRY_USERS);
      this.#enqueue(
        encodeEntry(
          exceptConnection === undefined
            ? { kind: ENVELOPE_USERS, userIds: part, frame }
            : { kind: ENVELOPE_USERS, userIds: part, except: exceptConnection, frame },
        ),
      );
    }
  }

  deliverToDevice(userId: UserId, deviceId: string, frame: Buffer): void {
    this.#sink?.deliverLocalDevice(userId, deviceId, frame);
    if (this.#pub.status !== "ready") return;
    this.#enqueue(encodeEntry({ kind: ENVELOPE_DEVICE, userId, deviceId, frame }));
  }

  async connectionOpened(
    userId: UserId,
    connectionId: string,
  ): Promise<{ count: number; cameOnline: boolean }> {
    let set = this.#local.get(userId);
    if (!set) {
      set = new Set();
      this.#local.set(userId, set);
    }
    set.add(connectionId);
    try {
      const count = await this.#track(
        this.#pub.parleyOpen(this.#o.keyPrefix, this.nodeId, userId, connectionId),
      );
      return { count, cameOnline: count === 1 };
    } catch (err) {
      // Degraded: count what this node sees; presence is announced when Redis is back.
      this.#failed("presence", err);
      return { count: set.size, cameOnline: false };
    }
  }

  async connectionClosed(userId: UserId, connectionId: string): Promise<{ wentOffline: boolean }> {
    const set = this.#local.get(userId);
    if (!set?.delete(connectionId)) return { wentOffline: false };
    const lastLocal = set.size === 0;
    if (lastLocal) this.#local.delete(userId);
    try {
      const [removed, left] = await this.#track(
        this.#pub.parleyClose(this.#o.keyPrefix, this.nodeId, userId, connectionId, lastLocal ? "1" : "0"),
      );
      return { wentOffline: removed === 1 && left === 0 };
    } catch (err) {
      this.#failed("presence", err);
      return { wentOffline: false };
    }
  }

  async onlineUserIds(): Promise<ReadonlySet<UserId>> {
    try {
      const ids = await this.#track(this.#pub.parleyOnline(this.#o.keyPrefix, this.nodeId));
      return new Set(ids.map(asUserId));
    } catch (err) {
      this.#failed("presence", err);
      return new Set(this.#local.keys());
    }
  }

  async connectedDevices(
    devices: readonly { userId: UserId; deviceId: string }[],
  ): Promise<ReadonlySet<string>> {
    const out = new Set<string>();
    const rest: { userId: UserId; deviceId: string }[] = [];
    for (const d of devices) {
      if (this.#sink?.hasLocalDevice?.(d.userId, d.deviceId) === true) out.add(deviceKey(d));
      else rest.push(d);
    }
    if (rest.length === 0) return out;
    try {
      const users = [...new Set(rest.map((d) => d.userId))];
      const elsewhere = new Set(
        await this.#track(this.#pub.parleyElsewhere(this.#o.keyPrefix, this.nodeId, users)),
      );
      for (const d of rest) if (elsewhere.has(d.userId)) out.add(deviceKey(d));
    } catch (err) {
      // Unreachable Redis means unreachable nodes: a remote device would not get the message live.
      this.#failed("presence", err);
    }
    return out;
  }

  publishControl(event: ControlEvent): void {
    this.#sink?.onControl(event);
    this.#sendControl(event);
  }

  healthy(): boolean {
    return !this.#closed && this.#pub.status === "ready" && this.#subscribed;
  }

  /** Leaves the cluster: removes this node's presence (announcing who went offline), then disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    // Deliveries made before close() still go out, ahead of the presence changes below.
    this.#flush();
    await Promise.allSettled([...this.#inflight]);
    if (this.#pub.status === "ready") {
      try {
        // Whatever is still open here is being dropped with this node: no entries stay behind.
        const [, went] = await this.#pub.parleyReconcile(this.#o.keyPrefix, this.nodeId, "1", []);
        await this.#announce(went.map(asUserId), false);
      } catch (err) {
        this.#failed("leave", err);
      }
    }
    this.#local.clear();
    await Promise.allSettled([quit(this.#pub), quit(this.#sub)]);
  }

  // ------------------------------------------------------------------ internals

  /**
   * Holds a delivery for other nodes until the end of this tick, so that every frame of one
   * tick reaches Redis in one script call and each other node in one message. The entries keep
   * their order, and one connection carries every call, so frames stay in the order sent.
   */
  #enqueue(entry: Buffer): void {
    this.#pending.push(entry);
    this.#pendingBytes += entry.length;
    if (this.#pending.length >= BATCH_ENTRIES || this.#pendingBytes >= BATCH_BYTES) this.#flush();
    else this.#flushScheduled ??= setImmediate(() => this.#flush());
  }

  /** Remote recipients only: frames are dropped, not queued, while Redis is away. */
  #flush(): void {
    if (this.#flushScheduled !== undefined) {
      clearImmediate(this.#flushScheduled);
      this.#flushScheduled = undefined;
    }
    const entries = this.#pending;
    if (entries.length === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#pub.status !== "ready") return;
    if (this.#legacy) {
      for (const entry of entries) {
        const envelope = decodeEntry(entry) as Envelope;
        const users = envelope.kind === ENVELOPE_USERS ? envelope.userIds : [envelope.userId];
        this.#track(
          this.#pub.parleyFanout(this.#o.keyPrefix, this.nodeId, encodeLegacy(envelope), users),
        ).catch((err: unknown) => this.#failed("publish", err));
      }
      return;
    }
    this.#track(this.#pub.parleyFanoutBatch(this.#o.keyPrefix, this.nodeId, entries)).catch((err: unknown) =>
      this.#failed("publish", err),
    );
  }

  #onMessage(channelBytes: Buffer, message: Buffer): void {
    const channel = channelBytes.toString("utf8");
    if (channel === this.#nodeChannel) {
      const envelopes = decodeMessage(message);
      if (envelopes === null) this.#dropped("envelope");
      else if (envelopes === "unknown") this.#dropped("version");
      else {
        const sink = this.#sink;
        if (sink === undefined) return;
        for (const e of envelopes) {
          if (e.kind === ENVELOPE_USERS) sink.deliverLocal(e.userIds, e.frame, e.except);
          else sink.deliverLocalDevice(e.userId, e.deviceId, e.frame);
        }
      }
    } else if (channel === this.#controlChannel) {
      const received = parseControl(message);
      if (received === null) this.#dropped("control");
      else if (received.from !== this.nodeId) this.#sink?.onControl(received.event);
    }
  }

  #sendControl(event: ControlEvent): void {
    // Frames sent before the event go ahead of it (a frame to a device, then its logout).
    this.#flush();
    if (this.#pub.status !== "ready") {
      this.#queueControl(event);
      return;
    }
    this.#pub
      .publish(this.#controlChannel, encodeControl(this.nodeId, event))
      .catch(() => this.#queueControl(event));
  }

  /** Control events (a logout, a membership change) are not lost to other nodes by an outage of ours. */
  #queueControl(event: ControlEvent): void {
    if (this.#closed || !isDurableControl(event)) return;
    this.#outbox.push(event);
    if (this.#outbox.length > OUTBOX_LIMIT) this.#outbox.shift();
  }

  #flushOutbox(): void {
    const pending = this.#outbox;
    this.#outbox = [];
    for (const event of pending) this.#sendControl(event);
  }

  /** Heartbeat: refresh this node's alive key, sweep dead nodes, reconcile after trouble. */
  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed || this.#pub.status !== "ready") return;
    this.#ticking = true;
    try {
      const [previous, offline, peers] = await this.#track(
        this.#pub.parleyBeat(this.#o.keyPrefix, this.nodeId, this.#o.presenceTtlMs, this.#instance),
      );
      this.#peersSpeak(peers);
      if (previous !== this.#instance) {
        // Empty: our key expired (an outage longer than the TTL, or the first beat). Another
        // token: a restart under the same node id (first beat) or a second node using our id.
        if (previous !== "") {
          this.#o.log.warn(
            { event: this.#registered ? "node_id_conflict" : "node_id_reused", nodeId: this.nodeId },
            this.#registered
              ? "another server uses this PARLEY_NODE_ID: give each server its own"
              : "replacing the presence of an earlier process with this node id",
          );
        }
        this.#dirty = true;
      }
      this.#registered = true;
      if (this.#dirty) await this.#reconcile();
      if (offline.length > 0) {
        this.#o.log.info(
          { event: "presence_expired", users: offline.length },
          "a dead node's users went offline",
        );
        await this.#announce(offline.map(asUserId), false);
      }
    } catch (err) {
      this.#failed("heartbeat", err);
    } finally {
      this.#ticking = false;
    }
  }

  async #reconcile(): Promise<void> {
    this.#dirty = false;
    const pairs = [...this.#local].flatMap(([u, conns]) => [...conns].flatMap((c) => [u, c]));
    try {
      const [came, went] = await this.#track(
        this.#pub.parleyReconcile(this.#o.keyPrefix, this.nodeId, "0", pairs),
      );
      await this.#announce(went.map(asUserId), false);
      await this.#announce(came.map(asUserId), true);
    } catch (err) {
      this.#dirty = true;
      throw err;
    }
  }

  /** Presence frames for transitions the bus found itself (PRES-1: to every online user). */
  async #announce(userIds: readonly UserId[], online: boolean): Promise<void> {
    const changes: PresenceChange[] = [];
    for (const userId of userIds) {
      const username = await this.#o.usernameOf(userId);
      if (username !== undefined) changes.push({ userId, username, online });
    }
    await announcePresence(this, changes);
  }

  /**
   * From the heartbeat's `[node, alive token, ...]` of the other live nodes: while a node of
   * protocol 1 is alive (a rolling upgrade), frames go out in protocol 1, which every node reads.
   */
  #peersSpeak(peers: readonly string[]): void {
    const others = new Map<string, number>();
    for (let i = 0; i + 1 < peers.length; i += 2) {
      const protocol = protocolOf(peers[i + 1] as string);
      if (protocol !== BUS_PROTOCOL) others.set(peers[i] as string, protocol);
    }
    for (const [node, protocol] of others) {
      if (this.#otherProtocols.get(node) === protocol) continue;
      this.#o.log.warn(
        { event: "bus_protocol_mixed", node, protocol, ours: BUS_PROTOCOL },
        protocol < BUS_PROTOCOL
          ? "a server of an older version shares the bus: sending it the older format until it leaves"
          : "a server of a newer version shares the bus: upgrade this server too",
      );
    }
    if (others.size === 0 && this.#otherProtocols.size > 0)
      this.#o.log.info(
        { event: "bus_protocol_uniform", protocol: BUS_PROTOCOL },
        "every server speaks one bus protocol",
      );
    this.#otherProtocols = others;
    const legacy = [...others.values()].some((p) => p < BUS_PROTOCOL);
    if (legacy !== this.#legacy) this.#flush();
    this.#legacy = legacy;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inflight.add(promise);
    const done = () => this.#inflight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  #watch(client: Redis, role: "pub" | "sub"): void {
    const down = (err?: unknown) => {
      // ioredis reports every failed reconnect; one line per outage is enough.
      if (this.#down[role] || this.#closed) return;
      this.#down[role] = true;
      this.#o.log.warn(
        { event: "redis_down", role, ...(err !== undefined ? { err: errorCode(err) } : {}) },
        "lost Redis; serving local users only until it is back",
      );
    };
    client.on("error", down);
    client.on("close", () => {
      if (role === "pub") this.#dirty = true;
      down();
    });
    client.on("ready", () => {
      if (!this.#down[role]) return;
      this.#down[role] = false;
      this.#o.log.info({ event: "redis_up", role }, "Redis is back");
    });
  }

  #failed(what: string, err: unknown): void {
    if (what === "presence" || what === "heartbeat") this.#dirty = true;
    if (this.#closed && what !== "leave") return;
    this.#o.log.debug({ event: "redis_command_failed", what, err: errorCode(err) }, "Redis command failed");
  }

  /** Counted always, logged at most once a minute: a flood of bad messages must not flood the log. */
  #dropped(what: keyof BusDrops): void {
    this.dropped[what]++;
    const now = Date.now();
    if (now - this.#droppedLoggedAt < DROP_LOG_MS) return;
    this.#droppedLoggedAt = now;
    this.#o.log.warn(
      { event: "bus_message_dropped", what, dropped: { ...this.dropped } },
      what === "version"
        ? "dropped a message of a newer bus protocol from Redis: upgrade this server"
        : "dropped a malformed message from Redis",
    );
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === "end") return;
  try {
    if (client.status !== "ready") throw new Error("not connected");
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/** The bus protocol of a node from its alive token: `<protocol>:<random>`, or a bare token for 1. */
function protocolOf(token: string): number {
  const m = /^(\d{1,4}):/.exec(token);
  return m === null ? 1 : Number(m[1]);
}

function errorCode(err: unknown): string {
  if (err instanceof Error) return (err as Error & { code?: string }).code ?? err.message;
  return String(err);
}
