import {
  addMembers,
  computeSafetyNumber,
  createGroup,
  createMlsConfig,
  type DeviceIdentity,
  type DeviceRef,
  encryptApplicationMessage,
  exportGroupInfo,
  type GroupState,
  groupEpoch,
  groupMembers,
  inspectKeyPackage,
  inspectMessage,
  isParleyCryptoError,
  joinByExternalCommit,
  joinFromWelcome,
  type MlsConfigOptions,
  mergePendingCommit,
  ownLeafIndex,
  type PendingCommit,
  processMessage,
  removeMembers,
  type SafetyNumber,
  selfUpdate,
} from "@parley/crypto";
import {
  type RoomView,
  type ServerFrame,
  type ServerFrameOf,
  type UserView,
  type UserWithPresence,
  WS_PATH,
} from "@parley/protocol";
import type { BackoffOptions } from "./backoff.js";
import { base64ToBytes, bytesToBase64 } from "./base64.js";
import { Connection, type ConnectionStatus } from "./connection.js";
import { type Content, decodeContent, encodeContent } from "./content.js";
import { DeviceKeys, KEY_PACKAGE_BATCH } from "./device.js";
import { TypedEmitter } from "./emitter.js";
import { asClientError, ParleyClientError } from "./errors.js";
import type { ClientEvents, ErrorEvent } from "./events.js";
import { canonicalRoomId, GroupStates, groupIdFor } from "./groups.js";
import { KeyedMutex } from "./lock.js";
import { KeyPins, type TrustState } from "./pins.js";
import { defaultTimers, type FetchLike, type Timers, type WebSocketConstructor } from "./platform.js";
import { SessionManager } from "./session.js";
import type { DeviceStore } from "./store.js";

export interface ParleyClientOptions {
  /** The server's origin, e.g. `https://parley.local:8443`. */
  baseUrl: string;
  fetch: FetchLike;
  WebSocket: WebSocketConstructor;
  /** Where this device's state lives; wrap it in EncryptedStore. */
  store: DeviceStore;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
  /** Uniform random number in [0, 1), for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Default: the host's setTimeout/clearTimeout. */
  timers?: Timers;
  /** Reconnect delays. Default base 500 ms, max 30 s (full jitter). */
  backoff?: Omit<BackoffOptions, "random">;
  /** Default 15000 ms. */
  requestTimeoutMs?: number;
  /** How long to wait for the handshake queue to bring a group up to the server's epoch. Default 10000 ms. */
  syncTimeoutMs?: number;
  /** How many times a Commit is rebuilt after losing to another (stale_epoch). Default 5. */
  commitRetries?: number;
  /** MLS tuning (retained epochs, out-of-order window, padding). */
  mls?: Omit<MlsConfigOptions, "verifyDevice">;
}

export interface CreateRoomOptions {
  topic?: string;
  /** Default true (ROOM-2). */
  isPublic?: boolean;
}

export interface SafetyNumberResult extends SafetyNumber {
  /** What the user knows about the other user's keys. */
  readonly trust: TrustState;
}

interface Prepared {
  readonly pending: PendingCommit;
  readonly groupInfo: string;
  readonly addDevices: DeviceRef[];
  readonly removeDevices: DeviceRef[];
}

interface Built {
  readonly pending: PendingCommit;
  readonly addDevices?: DeviceRef[];
  readonly removeDevices?: DeviceRef[];
}

interface ClaimedDevice {
  readonly ref: DeviceRef;
  readonly keyPackage: Uint8Array;
}

/** Messages kept while their epoch is ahead of ours (its Commit is still on the way), per room. */
const MAX_EARLY_MESSAGES = 256;
/** How long a join waits for Commits or a Welcome already on the way before it joins by itself. */
const SHORT_SYNC_MS = 1500;

/**
 * The Parley SDK: one object per device and account. It signs in over REST, keeps one
 * WebSocket open (reconnecting with backoff), registers the device's MLS identity and
 * KeyPackages, and turns rooms and direct conversations into MLS groups: every message is
 * encrypted on this device and decrypted on the recipients' (RFC 9420), the server only relays
 * and orders. Handshake messages are applied in the server's order and acknowledged only after
 * the new state is stored, so a crash never loses a Commit. Events report what arrives.
 */
export class ParleyClient extends TypedEmitter<ClientEvents> {
  readonly #o: Required<Pick<ParleyClientOptions, "now" | "random" | "timers">> & ParleyClientOptions;
  readonly #session: SessionManager;
  readonly #device: DeviceKeys;
  readonly #pins: KeyPins;
  readonly #groups: GroupStates;
  readonly #conn: Connection;
  readonly #mls: ReturnType<typeof createMlsConfig>;
  /** Group-state changes: short critical sections, incoming and outgoing. */
  readonly #groupLock = new KeyedMutex();
  /** Outgoing Commits: held across the round trip to the delivery service, one per room. */
  readonly #commitLock = new KeyedMutex();
  /** Commits sent but not answered when the connection dropped, per room. */
  readonly #inDoubt = new Map<string, Prepared>();
  readonly #early = new Map<string, ServerFrameOf<"message">[]>();
  readonly #timers = new Set<unknown>();
  readonly #resyncing = new Map<string, Promise<void>>();
  #inbox: Promise<void> = Promise.resolve();
  #handshakesQueued = 0;
  #lastSeq = -1;
  #ackedSeq = -1;
  #replenishing: Promise<void> | undefined;
  #user: UserView | undefined;
  #status: ConnectionStatus = { state: "offline", reason: "not_started" };
  #closed = false;

  constructor(options: ParleyClientOptions) {
    super({
      onListenerError: (error, event) => {
        if (event !== "error") this.#report(new ParleyClientError("listener_failed", { cause: error }));
      },
    });
    if (typeof options.fetch !== "function") throw new TypeError("options.fetch must be a function");
    if (typeof options.WebSocket !== "function")
      throw new TypeError("options.WebSocket must be a constructor");
    if (options.store === undefined) throw new TypeError("options.store is required");
    this.#o = {
      ...options,
      now: options.now ?? (() => Date.now()),
      random: options.random ?? Math.random,
      timers: options.timers ?? defaultTimers,
    };
    const { now, timers, store } = this.#o;
    this.#session = new SessionManager({
      baseUrl: options.baseUrl,
      fetch: options.fetch,
      store,
      now,
      onSignedOut: () => this.#conn.stop("signed_out"),
    });
    this.#device = new DeviceKeys(store, now);
    this.#pins = new KeyPins(store, (change) => this.emit("key_changed", change));
    this.#mls = createMlsConfig({
      ...options.mls,
      verifyDevice: async (device, key) => {
        await this.#observe(device, key);
        return true; // a changed key is reported (key_changed), not refused: the group must go on
      },
    });
    this.#groups = new GroupStates(store, this.#mls, timers);
    this.#conn = new Connection({
      url: `${options.baseUrl.replace(/\/+$/, "").replace(/^http/, "ws")}${WS_PATH}`,
      WebSocket: options.WebSocket,
      token: (refresh) => this.#session.accessToken(refresh),
      deviceId: () => this.#identity().deviceId,
      timers,
      backoff: { ...options.backoff, random: this.#o.random },
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      onReady: (ready) => this.#onReady(ready),
      onFrame: (frame) => this.#onFrame(frame),
      onStatus: (status) => {
        this.#status = status;
        this.emit("status", status);
      },
      onError: (error) => this.#report(error),
      onSignedOut: () => {
        void this.#session.forget();
      },
    });
  }

  // ------------------------------------------------------------------ account and connection

  /** The signed-in user, once known. */
  get user(): UserView | undefined {
    return this.#user ?? this.#session.current?.user;
  }

  /** This device's id, once connected or registered. */
  get deviceId(): string | undefined {
    return this.#device.identity?.deviceId;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  async register(username: string, password: string, inviteCode?: string): Promise<UserView> {
    return (await this.#session.register(username, password, inviteCode)).user;
  }

  async login(username: string, password: string): Promise<UserView> {
    return (await this.#session.login(username, password)).user;
  }

  /** Restores the session saved in the store by an earlier register/login; false if there is none. */
  resume(): Promise<boolean> {
    return this.#session.resume();
  }

  /** Ends the session on the server and closes the connection; the device's keys stay in the store. */
  async logout(): Promise<void> {
    this.#conn.stop("signed_out");
    await this.#session.logout();
  }

  /**
   * Opens the WebSocket, registers this device on first use, and resolves once connected. The
   * connection then stays up, reconnecting by itself, until close() or logout().
   */
  async connect(timeoutMs = 30_000): Promise<void> {
    const session = this.#session.current;
    if (session === undefined) throw new ParleyClientError("not_signed_in");
    this.#closed = false;
    await this.#device.ensure(session.user.id);
    this.#conn.start();
    await this.#conn.whenReady(timeoutMs);
  }

  /** Closes the connection and stops every timer; resolves after work in progress has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#conn.stop("closed");
    for (const t of this.#timers) this.#o.timers.clearTimeout(t);
    this.#timers.clear();
    this.#groups.cancelWaiters();
    await this.#drain();
  }

  /** Every account on the server (GET /api/users). */
  async users(): Promise<UserWithPresence[]> {
    return (await this.#session.api<{ users: UserWithPresence[] }>("GET", "/api/users")).users;
  }

  /** The rooms and direct conversations the user is in. */
  async rooms(): Promise<RoomView[]> {
    return (await this.#conn.request({ type: "room.list" }, "rooms")).rooms;
  }

  async members(roomId: string) {
    return (await this.#conn.request({ type: "room.members", roomId }, "members")).members;
  }

  /** The MLS epoch this device holds for a room, or undefined when it is not in its group. */
  async epoch(roomId: string): Promise<number | undefined> {
    const e = await this.#groups.epoch(roomId);
    return e === undefined ? undefined : Number(e);
  }

  // ------------------------------------------------------------------ rooms

  /**
   * Creates a room and its MLS group. The creator commits once at once (an empty Commit with
   * a fresh path), so the delivery service holds a GroupInfo from the start and other devices
   * can join by external Commit.
   */
  async createRoom(name: string, options: CreateRoomOptions = {}): Promise<RoomView> {
    const answer = await this.#conn.request(
      {
        type: "room.create",
        name,
        ...(options.topic !== undefined ? { topic: options.topic } : {}),
        ...(options.isPublic !== undefined ? { isPublic: options.isPublic } : {}),
      },
      "room",
    );
    const roomId = canonicalRoomId(answer.room.id);
    await this.#startGroup(roomId, []);
    return answer.room;
  }

  /** Invites a user to a room and adds their devices to its group (Welcome). */
  async invite(roomId: string, userId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#conn.request({ type: "room.invite", roomId: id, userId }, "ok");
    await this.#ensureGroup(id);
    await this.#addUser(id, userId);
  }

  /**
   * Joins a room: on the server (ROOM-3), then its group, from a Welcome if one came or by
   * external Commit (RFC 9420 §12.4.3.2) otherwise.
   */
  async join(roomId: string): Promise<RoomView> {
    const answer = await this.#conn.request({ type: "room.join", roomId }, "room");
    await this.#ensureGroup(canonicalRoomId(answer.room.id));
    return answer.room;
  }

  /** Leaves a room; the remaining members remove this user's devices from the group. */
  async leave(roomId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#conn.request({ type: "room.leave", roomId: id }, "ok");
    await this.#groupLock.run(id, () => this.#groups.delete(id));
    this.#early.delete(id);
  }

  /** Removes a user from a room (owner only) and all their devices from its group. */
  async remove(roomId: string, userId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#conn.request({ type: "room.remove", roomId: id, userId }, "ok");
    await this.#removeUser(id, userId);
  }

  /** The direct conversation with a user: a two-member room and group (ROOM-8). */
  async openDirect(userId: string): Promise<RoomView> {
    const answer = await this.#conn.request({ type: "direct.open", userId }, "room");
    const roomId = canonicalRoomId(answer.room.id);
    await this.#drain();
    if ((await this.#groups.get(roomId)) !== undefined) return answer.room;
    const info = await this.#groupInfo(roomId);
    if (info !== undefined) {
      await this.#ensureGroup(roomId);
      return answer.room;
    }
    const claimed = await this.#claim(userId);
    await this.#startGroup(roomId, claimed);
    return answer.room;
  }

  /** Encrypts and sends a text or a structured payload; resolves with the server's id and time. */
  async send(roomId: string, content: string | Content): Promise<{ id: string; ts: number }> {
    const id = canonicalRoomId(roomId);
    const plaintext = encodeContent(content);
    if ((await this.#groups.get(id)) === undefined) await this.#ensureGroup(id);
    const message = await this.#groupLock.run(id, async () => {
      const state = await this.#groups.get(id);
      if (state === undefined) throw new ParleyClientError("no_group");
      const out = await encryptApplicationMessage(state, plaintext);
      await this.#groups.put(id, out.state);
      return out.message;
    });
    const ack = await this.#conn.request(
      { type: "message.send", to: { room: id }, payload: bytesToBase64(message) },
      "ack",
    );
    return { id: ack.id, ts: ack.ts };
  }

  /** Tells the room's members this user started or stopped typing (PRES-2). */
  typing(roomId: string, active: boolean): void {
    this.#conn.fire({ type: "typing", roomId, active });
  }

  /**
   * A Commit with a fresh path for this device (RFC 9420 §12.4): new keys, so a copy of this
   * device's old state can no longer read the group (post-compromise security).
   */
  async updateKeys(roomId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    let done = false;
    await this.#commit(id, async (state) => {
      if (done) return undefined;
      done = true;
      return { pending: await selfUpdate(state) };
    });
  }

  // ------------------------------------------------------------------ identity

  /**
   * The safety number of this user and `userId` over all their devices' identity keys. Our own
   * device's key is taken from this device, not from the server, so a server that shows others
   * another key for us makes the two sides' numbers differ.
   */
  async safetyNumber(userId: string): Promise<SafetyNumberResult> {
    const me = this.#identity();
    const [mine, theirs] = await Promise.all([this.#deviceKeys(me.accountId), this.#deviceKeys(userId)]);
    const own = mine.filter((d) => d.deviceId !== me.deviceId).map((d) => d.key);
    own.push(me.signaturePublicKey);
    const number = computeSafetyNumber(
      { userId: me.accountId, identityKeys: own },
      { userId, identityKeys: theirs.map((d) => d.key) },
    );
    return { ...number, trust: await this.#pins.state(userId) };
  }

  /** The user compared safety numbers: their keys as pinned now are trusted. */
  markVerified(userId: string): Promise<void> {
    return this.#pins.markVerified(userId);
  }

  trust(userId: string): Promise<TrustState> {
    return this.#pins.state(userId);
  }

  // ------------------------------------------------------------------ connection set-up

  #identity(): DeviceIdentity {
    const identity = this.#device.identity;
    if (identity === undefined) throw new ParleyClientError("not_signed_in");
    return identity;
  }

  async #onReady(ready: ServerFrameOf<"ready">): Promise<void> {
    this.#user = ready.user;
    const identity = this.#identity();
    if (!(await this.#device.isRegistered())) {
      const registration = await this.#device.registration(identity);
      let count: ServerFrameOf<"keypackages.count">;
      try {
        count = await this.#conn.request({ type: "device.register", ...registration }, "keypackages.count", {
          early: true,
          timeoutMs: 30_000,
        });
      } catch (e) {
        // The id is bound to another key (state lost): this is a new device from now on.
        if (e instanceof ParleyClientError && e.code === "device_key_mismatch") {
          await this.#device.recreate(identity.accountId);
        }
        throw e;
      }
      await this.#device.markRegistered();
      if (count.low) this.#replenish();
    }
    // Rooms whose group this device is not in (a new device, lost state): join them in the
    // background, after the handshake queue the server resends on auth has been applied.
    this.#later(0, () => this.#rejoinRooms());
  }

  #replenish(): void {
    this.#replenishing ??= (async () => {
      try {
        const keyPackages = await this.#device.newKeyPackages(this.#identity(), KEY_PACKAGE_BATCH);
        await this.#conn.request({ type: "keypackages.upload", keyPackages }, "keypackages.count");
      } catch (e) {
        this.#report(asClientError(e));
      } finally {
        this.#replenishing = undefined;
      }
    })();
  }

  async #rejoinRooms(): Promise<void> {
    const rooms = await this.rooms();
    await this.#drain();
    for (const room of rooms) {
      if (this.#closed) return;
      const id = canonicalRoomId(room.id);
      if ((await this.#groups.get(id)) !== undefined) continue;
      try {
        await this.#ensureGroup(id);
      } catch (e) {
        this.#report(asClientError(e), id);
      }
    }
  }

  // ------------------------------------------------------------------ incoming frames

  #onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "mls.handshake":
        this.#handshakesQueued++;
        this.#enqueue(() => this.#onHandshake(frame));
        return;
      case "message":
        this.#enqueue(() => this.#onMessage(frame));
        return;
      case "presence":
        this.emit("presence", { userId: frame.userId, username: frame.username, online: frame.online });
        return;
      case "typing.event":
        this.emit("typing", {
          roomId: frame.roomId,
          userId: frame.userId,
          username: frame.username,
          active: frame.active,
        });
        return;
      case "room.event":
        this.#onRoomEvent(frame);
        return;
      case "invited":
        this.emit("invited", { room: frame.room, by: frame.by });
        return;
      case "room":
        this.emit("room", frame.room);
        return;
      case "keypackages.count":
        if (frame.low) this.#replenish();
        return;
      case "error":
        this.#report(
          new ParleyClientError(frame.code as ParleyClientError["code"], { message: frame.message }),
        );
        return;
      default:
        // Late answers to requests that timed out, and frames this version does not act on.
        return;
    }
  }

  #onRoomEvent(frame: Extract<ServerFrame, { type: "room.event" }>): void {
    const roomId = canonicalRoomId(frame.roomId);
    this.emit("membership", {
      source: "room",
      roomId,
      event: frame.event,
      userId: frame.userId,
      username: frame.username,
    });
    if (frame.event !== "left" && frame.event !== "removed") return;
    if (frame.userId === this.user?.id) {
      void this.#groupLock.run(roomId, () => this.#groups.delete(roomId));
      return;
    }
    void this.#scheduleRemoval(roomId, frame.userId, frame.event === "removed");
  }

  /**
   * Someone left or was removed: their devices must leave the group too. One member should
   * commit that; members wait in the order of their leaf index (the owner, who removed, goes
   * first), and whoever finds the devices still there commits. Losing the race costs one
   * `stale_epoch`, after which nothing is left to do.
   */
  async #scheduleRemoval(roomId: string, userId: string, byOwner: boolean): Promise<void> {
    const state = await this.#groups.get(roomId);
    if (state === undefined) return;
    const members = groupMembers(state);
    if (!members.some((m) => m.device.accountId === userId)) return;
    const others = members.filter((m) => m.device.accountId !== userId).map((m) => m.leafIndex);
    const rank = others.sort((a, b) => a - b).indexOf(ownLeafIndex(state));
    const delay = (byOwner ? 2000 : 0) + (rank <= 0 ? 0 : 1000 * rank + Math.floor(this.#o.random() * 500));
    this.#later(delay, () => this.#removeUser(roomId, userId));
  }

  #enqueue(task: () => Promise<void>): void {
    this.#inbox = this.#inbox.then(task).catch((e: unknown) => this.#report(asClientError(e)));
  }

  /** Resolves once every frame received so far has been handled. */
  async #drain(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.#inbox;
      await seen;
    } while (seen !== this.#inbox);
  }

  async #onHandshake(frame: ServerFrameOf<"mls.handshake">): Promise<void> {
    try {
      if (frame.seq > this.#lastSeq) {
        const roomId = canonicalRoomId(frame.roomId);
        try {
          await this.#groupLock.run(roomId, () => this.#applyHandshake(roomId, frame));
        } catch (e) {
          // The entry is acknowledged anyway: a message that cannot be applied now never can
          // be, and a stuck queue would stop every later Commit. The group resyncs instead.
          this.#report(asClientError(e), roomId);
          this.#resyncSoon(roomId);
        }
        this.#lastSeq = frame.seq;
      }
    } finally {
      this.#handshakesQueued--;
      // MLS-6: one ack for a burst, after the states are stored.
      if (this.#handshakesQueued === 0 && this.#lastSeq > this.#ackedSeq) {
        if (this.#conn.fire({ type: "mls.ack", upTo: this.#lastSeq })) this.#ackedSeq = this.#lastSeq;
      }
    }
  }

  async #applyHandshake(roomId: string, frame: ServerFrameOf<"mls.handshake">): Promise<void> {
    const bytes = base64ToBytes(frame.payload);
    if (frame.kind === "welcome") return this.#applyWelcome(roomId, bytes);
    const state = await this.#groups.get(roomId);
    if (state === undefined) return; // not in this group (left, or its Welcome never came)
    let current = state;
    const ours = groupEpoch(state);
    if (BigInt(frame.epoch) < ours) return; // applied before the ack was lost
    if (BigInt(frame.epoch) > ours) {
      // The Commit for our epoch is missing: it was our own, accepted while the connection
      // dropped (the committer gets no copy of its Commit). Merge it, then go on.
      const doubt = this.#inDoubt.get(roomId);
      if (doubt === undefined || doubt.pending.epoch !== ours || BigInt(frame.epoch) !== ours + 1n) {
        throw new ParleyClientError("epoch_unavailable", {
          message: `a Commit for epoch ${frame.epoch} arrived while this device is at ${ours}`,
        });
      }
      this.#inDoubt.delete(roomId);
      current = mergePendingCommit(doubt.pending, state);
      await this.#groups.put(roomId, current);
    }
    let result: Awaited<ReturnType<typeof processMessage>>;
    try {
      result = await processMessage(current, bytes);
    } catch (e) {
      const doubt = this.#inDoubt.get(roomId);
      if (
        isParleyCryptoError(e, "own_commit") &&
        doubt !== undefined &&
        doubt.pending.epoch === groupEpoch(current)
      ) {
        this.#inDoubt.delete(roomId);
        await this.#groups.put(roomId, mergePendingCommit(doubt.pending, current));
        return;
      }
      throw e;
    }
    if (result.kind !== "commit") throw new ParleyClientError("invalid_message");
    // Someone else's Commit won this epoch, so a Commit of ours still in doubt lost.
    if (this.#inDoubt.get(roomId)?.pending.epoch === groupEpoch(current)) this.#inDoubt.delete(roomId);
    if (result.removedSelf) {
      await this.#groups.delete(roomId);
      this.emit("membership", { source: "self", roomId, event: "removed", epoch: Number(result.epoch) });
      return;
    }
    await this.#groups.put(roomId, result.state);
    this.emit("membership", {
      source: "group",
      roomId,
      epoch: Number(result.epoch),
      added: result.added.map((m) => m.device),
      removed: result.removed.map((m) => m.device),
      by: result.committer?.device,
    });
    this.#replayEarly(roomId);
  }

  async #applyWelcome(roomId: string, welcome: Uint8Array): Promise<void> {
    const bundle = await this.#device.bundleFor(welcome);
    const existing = await this.#groups.get(roomId);
    if (bundle === undefined) {
      if (existing !== undefined) return; // already joined, and the package is spent
      throw new ParleyClientError("no_matching_key_package");
    }
    const state = await joinFromWelcome(welcome, [bundle], this.#identity(), this.#mls);
    await this.#device.consumed(bundle);
    if (existing !== undefined && groupEpoch(existing) >= groupEpoch(state)) return;
    await this.#groups.put(roomId, state);
    this.emit("membership", { source: "self", roomId, event: "joined", epoch: Number(groupEpoch(state)) });
    this.#replayEarly(roomId);
  }

  async #onMessage(frame: ServerFrameOf<"message">): Promise<void> {
    if (frame.room === undefined) return; // user-to-user payloads are not MLS conversations
    const roomId = canonicalRoomId(frame.room);
    await this.#groupLock.run(roomId, async () => {
      const state = await this.#groups.get(roomId);
      if (state === undefined) {
        // Followers of a public room's members get its traffic too (SUB-2); they are not in it.
        if (frame.via === "subscription") return;
        this.#report(new ParleyClientError("no_group"), roomId, frame.id);
        this.#resyncSoon(roomId);
        return;
      }
      let bytes: Uint8Array;
      try {
        bytes = base64ToBytes(frame.payload);
      } catch {
        this.#report(new ParleyClientError("malformed_message"), roomId, frame.id);
        return;
      }
      let result: Awaited<ReturnType<typeof processMessage>>;
      try {
        result = await processMessage(state, bytes);
      } catch (e) {
        if (isParleyCryptoError(e, "epoch_unavailable") && this.#isAhead(bytes, state)) {
          this.#keepEarly(roomId, frame);
          return;
        }
        this.#report(asClientError(e), roomId, frame.id);
        return;
      }
      if (result.kind !== "application") {
        this.#report(new ParleyClientError("invalid_message"), roomId, frame.id);
        return;
      }
      await this.#groups.put(roomId, result.state);
      let content: Content;
      try {
        content = decodeContent(result.plaintext);
      } catch (e) {
        this.#report(asClientError(e), roomId, frame.id);
        return;
      }
      const sender = result.sender.device;
      if (sender.accountId !== frame.from.id) {
        this.#report(new ParleyClientError("sender_mismatch"), roomId, frame.id);
        return;
      }
      this.emit("message", {
        roomId,
        id: frame.id,
        ts: frame.ts,
        from: { userId: sender.accountId, username: frame.from.username, deviceId: sender.deviceId },
        content,
        text: "text" in content ? content.text : undefined,
        trust: await this.#pins.state(sender.accountId),
        epoch: Number(result.epoch),
      });
    });
  }

  #isAhead(bytes: Uint8Array, state: GroupState): boolean {
    try {
      const info = inspectMessage(bytes);
      return "epoch" in info && info.epoch > groupEpoch(state);
    } catch {
      return false;
    }
  }

  /** A message from an epoch whose Commit has not arrived yet: kept until it does. */
  #keepEarly(roomId: string, frame: ServerFrameOf<"message">): void {
    const list = this.#early.get(roomId) ?? [];
    if (list.length >= MAX_EARLY_MESSAGES) list.shift();
    list.push(frame);
    this.#early.set(roomId, list);
    if (list.length === 1) {
      const timeout = this.#o.syncTimeoutMs ?? 10_000;
      this.#later(timeout, async () => {
        if ((this.#early.get(roomId)?.length ?? 0) === 0) return;
        await this.#resync(roomId);
        this.#replayEarly(roomId);
      });
    }
  }

  #replayEarly(roomId: string): void {
    const list = this.#early.get(roomId);
    if (list === undefined || list.length === 0) return;
    this.#early.delete(roomId);
    for (const frame of list) this.#enqueue(() => this.#onMessage(frame));
  }

  // ------------------------------------------------------------------ commits

  /**
   * Makes, sends and merges one Commit (RFC 9420 §14): `build` makes it from the current state
   * (or returns undefined when nothing is left to do). When another Commit won the epoch
   * (`stale_epoch`), the winner arrives through the handshake queue, and the change is rebuilt
   * on top of it. A Commit whose answer was lost with the connection is resolved from the
   * delivery service's GroupInfo or from the queue.
   */
  async #commit(roomId: string, build: (state: GroupState) => Promise<Built | undefined>): Promise<void> {
    await this.#commitLock.run(roomId, () => this.#commitLocked(roomId, build));
  }

  async #commitLocked(
    roomId: string,
    build: (state: GroupState) => Promise<Built | undefined>,
  ): Promise<void> {
    const retries = this.#o.commitRetries ?? 5;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const prepared = await this.#groupLock.run(roomId, async (): Promise<Prepared | undefined> => {
        const state = await this.#groups.get(roomId);
        if (state === undefined) throw new ParleyClientError("no_group");
        const built = await build(state);
        if (built === undefined) return undefined;
        return {
          pending: built.pending,
          groupInfo: bytesToBase64(await exportGroupInfo(built.pending.newState)),
          addDevices: built.addDevices ?? [],
          removeDevices: built.removeDevices ?? [],
        };
      });
      if (prepared === undefined) return;
      const outcome = await this.#send(roomId, prepared);
      if (outcome === "accepted") return;
      if (outcome === "not_in_group" || outcome === "lost") throw new ParleyClientError("not_in_room");
    }
    throw new ParleyClientError("commit_conflict");
  }

  /**
   * Sends a prepared Commit; merges it when accepted. "retry" means: rebuild on the new state.
   * `first` marks a group's first Commit, made on a group created here: losing it means another
   * device made the group first ("lost").
   */
  async #send(
    roomId: string,
    p: Prepared,
    first = false,
  ): Promise<"accepted" | "retry" | "not_in_group" | "lost"> {
    const frame = {
      type: "mls.commit" as const,
      roomId,
      epoch: Number(p.pending.epoch),
      commit: bytesToBase64(p.pending.commit),
      groupInfo: p.groupInfo,
      ...(p.pending.welcome !== undefined ? { welcome: bytesToBase64(p.pending.welcome) } : {}),
      ...(p.addDevices.length > 0 ? { addDevices: p.addDevices.map(toWire) } : {}),
      ...(p.removeDevices.length > 0 ? { removeDevices: p.removeDevices.map(toWire) } : {}),
    };
    try {
      await this.#conn.request(frame, "mls.accepted");
    } catch (e) {
      if (!(e instanceof ParleyClientError)) throw e;
      if (e.code === "stale_epoch" && first) return "lost";
      if (e.code === "stale_epoch") return this.#catchUp(roomId, e.epoch ?? Number(p.pending.epoch) + 1);
      if (e.code === "connection_lost" || e.code === "timeout") return this.#settleInDoubt(roomId, p);
      throw e;
    }
    await this.#merge(roomId, p);
    return "accepted";
  }

  async #merge(roomId: string, p: Prepared): Promise<void> {
    await this.#groupLock.run(roomId, async () => {
      const current = await this.#groups.get(roomId);
      if (current === undefined || groupEpoch(current) !== p.pending.epoch) {
        throw new ParleyClientError("epoch_unavailable", {
          message: "the group moved on while its Commit was accepted",
        });
      }
      await this.#groups.put(roomId, mergePendingCommit(p.pending, current));
    });
    this.#replayEarly(roomId);
  }

  /** Waits until the handshake queue brings the group to the server's epoch; resyncs if it does not. */
  async #catchUp(roomId: string, serverEpoch: number): Promise<"retry" | "not_in_group"> {
    const target = BigInt(serverEpoch);
    await this.#groups.waitFor(
      roomId,
      (s) => s === undefined || groupEpoch(s) >= target,
      this.#o.syncTimeoutMs ?? 10_000,
    );
    const state = await this.#groups.get(roomId);
    if (state === undefined) return "not_in_group";
    if (groupEpoch(state) < target) await this.#resyncLocked(roomId);
    return "retry";
  }

  /**
   * The connection dropped (or the answer timed out) after a Commit was sent: it may have won.
   * The delivery service's GroupInfo tells: it is ours, byte for byte, exactly when our Commit
   * made the current epoch. Later Commits by others settle it in the handshake path.
   */
  async #settleInDoubt(roomId: string, p: Prepared): Promise<"accepted" | "retry" | "not_in_group"> {
    this.#inDoubt.set(roomId, p);
    try {
      await this.#conn.whenReady(this.#o.syncTimeoutMs ?? 60_000);
      await this.#drain();
      if (this.#inDoubt.get(roomId) !== p) return "retry"; // settled by the queue meanwhile
      const info = await this.#groupInfo(roomId);
      const ours = Number(p.pending.epoch);
      if (info !== undefined && info.epoch === ours + 1 && info.groupInfo === p.groupInfo) {
        this.#inDoubt.delete(roomId);
        await this.#merge(roomId, p);
        return "accepted";
      }
      if (info === undefined || info.epoch <= ours) return "retry";
      return await this.#catchUp(roomId, info.epoch);
    } finally {
      if (this.#inDoubt.get(roomId) === p) this.#inDoubt.delete(roomId);
    }
  }

  /** Creates the room's group here and makes its first Commit, adding `claimed` devices. */
  async #startGroup(roomId: string, claimed: readonly ClaimedDevice[]): Promise<void> {
    await this.#commitLock.run(roomId, async () => {
      if (!(await this.#createFirst(roomId, claimed))) await this.#ensureGroupLocked(roomId);
    });
  }

  /**
   * Creates the group here (epoch 0) and sends its first Commit. Losing it (two users opened
   * the same direct conversation at once) means the other group is the real one: ours is
   * dropped and the caller joins theirs. Call with the commit lock held.
   */
  async #createFirst(roomId: string, claimed: readonly ClaimedDevice[]): Promise<boolean> {
    const local = await createGroup(this.#identity(), { groupId: groupIdFor(roomId), config: this.#mls });
    await this.#groupLock.run(roomId, () => this.#groups.put(roomId, local));
    const pending =
      claimed.length > 0
        ? await addMembers(
            local,
            claimed.map((c) => c.keyPackage),
          )
        : await selfUpdate(local);
    const p: Prepared = {
      pending,
      groupInfo: bytesToBase64(await exportGroupInfo(pending.newState)),
      addDevices: claimed.map((c) => c.ref),
      removeDevices: [],
    };
    if ((await this.#send(roomId, p, true)) === "accepted") return true;
    await this.#groupLock.run(roomId, async () => {
      if ((await this.#groups.get(roomId)) === local) await this.#groups.delete(roomId);
    });
    return false;
  }

  /** Adds every device of `userId` that is not in the group yet. */
  async #addUser(roomId: string, userId: string): Promise<void> {
    const claimed = await this.#claim(userId);
    if (claimed.length === 0) return; // no devices yet: they join by external Commit later
    await this.#commit(roomId, async (state) => {
      const present = new Set(groupMembers(state).map((m) => refKey(m.device)));
      const todo = claimed.filter((c) => !present.has(refKey(c.ref)));
      if (todo.length === 0) return undefined;
      return {
        pending: await addMembers(
          state,
          todo.map((c) => c.keyPackage),
        ),
        addDevices: todo.map((c) => c.ref),
      };
    });
  }

  /** Removes every leaf of `userId` from the group. */
  async #removeUser(roomId: string, userId: string): Promise<void> {
    if ((await this.#groups.get(roomId)) === undefined) return;
    await this.#commit(roomId, async (state) => {
      const leaves = groupMembers(state).filter((m) => m.device.accountId === userId);
      if (leaves.length === 0) return undefined;
      return {
        pending: await removeMembers(
          state,
          leaves.map((m) => m.leafIndex),
        ),
        removeDevices: leaves.map((m) => m.device),
      };
    });
  }

  /** One KeyPackage per device of a user (MLS-4), each checked against the device it claims to be. */
  async #claim(userId: string): Promise<ClaimedDevice[]> {
    const answer = await this.#conn.request({ type: "keypackages.claim", userId }, "keypackages");
    const out: ClaimedDevice[] = [];
    for (const d of answer.devices) {
      try {
        const keyPackage = base64ToBytes(d.keyPackage);
        const info = await inspectKeyPackage(keyPackage);
        const claimedKey = base64ToBytes(d.signatureKey);
        if (
          info.device.accountId !== userId ||
          info.device.deviceId !== d.deviceId ||
          bytesToBase64(info.signaturePublicKey) !== bytesToBase64(claimedKey)
        ) {
          throw new ParleyClientError("key_package_invalid");
        }
        await this.#pins.observe(userId, [{ deviceId: d.deviceId, key: info.signaturePublicKey }]);
        out.push({ ref: { accountId: userId, deviceId: d.deviceId }, keyPackage });
      } catch (e) {
        this.#report(asClientError(e));
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ joining and resyncing

  async #groupInfo(roomId: string): Promise<{ epoch: number; groupInfo: string } | undefined> {
    try {
      const answer = await this.#conn.request({ type: "mls.groupinfo.get", roomId }, "mls.groupinfo");
      return { epoch: answer.epoch, groupInfo: answer.groupInfo };
    } catch (e) {
      if (e instanceof ParleyClientError && (e.code as string) === "group_not_found") return undefined;
      throw e;
    }
  }

  /** Makes sure this device is in the room's group and up to date with the delivery service. */
  async #ensureGroup(roomId: string): Promise<void> {
    await this.#drain();
    await this.#commitLock.run(roomId, () => this.#ensureGroupLocked(roomId));
  }

  async #ensureGroupLocked(roomId: string): Promise<void> {
    const info = await this.#groupInfo(roomId);
    if (info === undefined) {
      // No Commit was ever accepted for this room: whoever commits first makes the group.
      if ((await this.#groups.get(roomId)) !== undefined) return;
      if (await this.#createFirst(roomId, [])) return;
      return this.#ensureGroupLocked(roomId);
    }
    const target = BigInt(info.epoch);
    const caughtUp = (s: GroupState | undefined) => s !== undefined && groupEpoch(s) >= target;
    if (caughtUp(await this.#groups.get(roomId))) return;
    // A Welcome or the missing Commits may still be on their way through the queue; what was
    // queued before this request has been applied already (drain), so a short wait suffices.
    if (await this.#groups.waitFor(roomId, caughtUp, SHORT_SYNC_MS)) return;
    await this.#externalJoin(roomId, info);
  }

  /** Rejoins in the background (outside the inbox, which must not wait for itself). */
  #resyncSoon(roomId: string): void {
    if (this.#resyncing.has(roomId)) return;
    this.#later(0, () => this.#resync(roomId));
  }

  async #resync(roomId: string): Promise<void> {
    const running = this.#resyncing.get(roomId);
    if (running !== undefined) return running;
    const task = this.#commitLock
      .run(roomId, () => this.#resyncLocked(roomId))
      .finally(() => {
        this.#resyncing.delete(roomId);
      });
    this.#resyncing.set(roomId, task);
    return task;
  }

  async #resyncLocked(roomId: string): Promise<void> {
    const info = await this.#groupInfo(roomId);
    if (info === undefined) return;
    const state = await this.#groups.get(roomId);
    if (state !== undefined && groupEpoch(state) >= BigInt(info.epoch)) return;
    await this.#externalJoin(roomId, info);
  }

  /**
   * Joins (or rejoins, replacing this device's old leaf) by external Commit from the delivery
   * service's GroupInfo (RFC 9420 §12.4.3.2). Retries on a fresher GroupInfo when it loses.
   */
  async #externalJoin(roomId: string, first: { epoch: number; groupInfo: string }): Promise<void> {
    let info: { epoch: number; groupInfo: string } | undefined = first;
    const retries = this.#o.commitRetries ?? 5;
    for (let attempt = 0; attempt <= retries && info !== undefined; attempt++) {
      const rejoin = (await this.#groups.get(roomId)) !== undefined;
      const joined = await joinByExternalCommit(base64ToBytes(info.groupInfo), this.#identity(), this.#mls);
      const groupInfo = bytesToBase64(await exportGroupInfo(joined.state));
      try {
        await this.#conn.request(
          {
            type: "mls.commit",
            roomId,
            epoch: info.epoch,
            commit: bytesToBase64(joined.commit),
            groupInfo,
            external: true,
          },
          "mls.accepted",
        );
      } catch (e) {
        if (!(e instanceof ParleyClientError) || e.code !== "stale_epoch") throw e;
        info = await this.#groupInfo(roomId);
        continue;
      }
      await this.#groupLock.run(roomId, () => this.#groups.put(roomId, joined.state));
      this.emit("membership", {
        source: "self",
        roomId,
        event: rejoin ? "rejoined" : "joined",
        epoch: Number(groupEpoch(joined.state)),
      });
      this.#replayEarly(roomId);
      return;
    }
    throw new ParleyClientError("commit_conflict");
  }

  // ------------------------------------------------------------------ helpers

  async #deviceKeys(userId: string): Promise<{ deviceId: string; key: Uint8Array }[]> {
    const answer = await this.#conn.request({ type: "devices.list", userId }, "devices");
    const devices = answer.devices.map((d) => ({ deviceId: d.deviceId, key: base64ToBytes(d.signatureKey) }));
    const me = this.#identity();
    await this.#pins.observe(
      userId,
      devices.filter((d) => !(userId === me.accountId && d.deviceId === me.deviceId)),
    );
    const own = devices.find((d) => userId === me.accountId && d.deviceId === me.deviceId);
    if (own !== undefined && bytesToBase64(own.key) !== bytesToBase64(me.signaturePublicKey)) {
      // The server shows others another key for this very device.
      this.emit("key_changed", {
        userId,
        deviceId: me.deviceId,
        kind: "key_changed",
        key: own.key,
        previousKey: me.signaturePublicKey,
      });
    }
    return devices;
  }

  async #observe(device: DeviceRef, key: Uint8Array): Promise<void> {
    const me = this.#device.identity;
    if (me !== undefined && device.accountId === me.accountId && device.deviceId === me.deviceId) {
      if (bytesToBase64(key) === bytesToBase64(me.signaturePublicKey)) return;
    }
    await this.#pins.observe(device.accountId, [{ deviceId: device.deviceId, key }]);
  }

  /** Runs `task` after `ms` unless the client is closed first; failures become error events. */
  #later(ms: number, task: () => Promise<void>): void {
    if (this.#closed) return;
    const timer = this.#o.timers.setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closed) return;
      task().catch((e: unknown) => this.#report(asClientError(e)));
    }, ms);
    this.#timers.add(timer);
  }

  #report(error: ParleyClientError, roomId?: string, messageId?: string): void {
    if (this.#closed && (error.code === "closed" || error.code === "not_connected")) return;
    const event: ErrorEvent = {
      code: error.code,
      error,
      ...(roomId !== undefined ? { roomId } : {}),
      ...(messageId !== undefined ? { messageId } : {}),
    };
    this.emit("error", event);
  }
}

function refKey(d: DeviceRef): string {
  return `${d.accountId}\u0000${d.deviceId}`;
}

function toWire(d: DeviceRef): { userId: string; deviceId: string } {
  return { userId: d.accountId, deviceId: d.deviceId };
}
