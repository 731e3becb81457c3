/** The SDK's public facade, ParleyClient: account, connection, rooms and identity calls, and the events pushed frames become. */

import {
  computeSafetyNumber,
  createMlsConfig,
  type DeviceCertificate,
  type DeviceIdentity,
  decodeCertificate,
  decodeRevocation,
  encodeRevocation,
  generateIdentityKey,
  groupMembers,
  type IdentityKeyPair,
  type MlsConfigOptions,
  type SafetyNumber,
  signDeviceRevocation,
  signMessageOrigin,
  verifyDeviceCertificate,
  verifyDeviceRevocation,
} from "@parley/crypto";
import {
  AccountDeletedResponse,
  BlocksResponse,
  canonicalRoomId,
  type DeviceRef,
  type FilesInfo,
  type IdentityResponse,
  type MlsSuite,
  type RoomView,
  type ServerFrame,
  type ServerFrameOf,
  SessionsResponse,
  type SessionView,
  sameDevice,
  type TotpEnrolment,
  TotpEnrolment as TotpEnrolmentSchema,
  TotpRecoveryCodes,
  type TotpStatus,
  TotpStatus as TotpStatusSchema,
  type UserView,
  type UserWithPresence,
} from "@parley/protocol";
import { AdminApi } from "./admin.js";
import type { BackoffOptions } from "./backoff.js";
import { base64ToBytes, bytesToBase64 } from "./base64.js";
import { Connection, type ConnectionStatus } from "./connection.js";
import {
  type Content,
  encodeBatch,
  encodeContent,
  encodeSync,
  newMessageId,
  originText,
  type StampedContent,
  type SyncNotice,
} from "./content.js";
import { DeviceKeys } from "./device.js";
import {
  type JoinedLink,
  joinLink,
  type LinkPayload,
  NewDeviceLink,
  type PendingLink,
} from "./device-link.js";
import { TypedEmitter } from "./emitter.js";
import { asClientError, isConnectionGone, ParleyClientError } from "./errors.js";
import type { ClientEvents, DeliveryEvent, ErrorEvent, MessageEvent } from "./events.js";
import {
  type FileDescriptor,
  type FileMeta,
  type FileSink,
  type FileSource,
  FileTransfers,
  type TransferOptions,
} from "./files.js";
import { GroupSync } from "./group-sync.js";
import { GroupStates } from "./groups.js";
import { expectShape } from "./json.js";
import { KEY_ROTATION_DEFAULTS, KeyRotation, type KeyRotationPolicy } from "./key-rotation.js";
import { KeySupply } from "./key-supply.js";
import type { HeldMessage } from "./message-crypto.js";
import { KeyPins, type TrustState } from "./pins.js";
import { defaultTimers, type FetchLike, sleep, type Timers, type WebSocketConstructor } from "./platform.js";
import { ReceiptSender } from "./receipts.js";
import { RecentIds } from "./recent-ids.js";
import { createRecoveryCodes, recoveryCodesLeft } from "./recovery.js";
import { type Passable, Redelivery } from "./redelivery.js";
import { ResetCatchUp } from "./reset-catch-up.js";
import { ResetChecks } from "./reset-checks.js";
import { Scheduler } from "./scheduler.js";
import { fetchServerInfo } from "./server-info.js";
import { fetchServerPolicy, type PolicyCheck, type PolicyPins } from "./server-policy.js";
import { ServerList } from "./servers.js";
import { SessionManager } from "./session.js";
import type { DeviceStore } from "./store.js";

export interface ParleyClientOptions {
  /**
   * The server's origin, e.g. `https://parley.local:8443`, or the origins of several servers
   * of one service (sharing Redis and PostgreSQL), e.g. `["https://a.lan:8443",
   * "https://b.lan:8443"]`. With a list, the client starts on the first and stays on a
   * server until it goes away (its socket closes with 1001, 1006, 1011-1014, or a REST call
   * gets no answer or 502/503/504); then the WebSocket and REST calls move to the next one,
   * round-robin, and the client catches up from the server's handshake queue (MLS-8). Behind
   * a load balancer, give its one URL instead. A TypeError for an empty list or a non-http(s)
   * entry.
   */
  baseUrl: string | readonly string[];
  fetch: FetchLike;
  WebSocket: WebSocketConstructor;
  /** Where this device's state lives, sealed at rest (EncryptedStore, or the web's WebCrypto store). */
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
  /**
   * RCPT-5: how long this device keeps a message it sent for member devices that have not
   * acknowledged it, to send it again when they are back. Default 7 days.
   */
  redeliveryKeepMs?: number;
  /** RCPT-1: how long receipts gather before one frame carries them. Default 1000 ms. */
  receiptBatchMs?: number;
  /**
   * RCPT-6: how long a device that holds another's message waits before passing it on to a
   * device that lacks it (and does not if someone else did meanwhile); up to as much again is
   * added at random. Default 3000 ms.
   */
  relayDelayMs?: number;
  /**
   * Automatic self-updates in each group (post-compromise security): after `afterMessages`
   * sent (default 100) or `afterMs` with the same keys (default 7 days), whichever first, each
   * with up to 20 % jitter per group, and after a key-change review. False turns them off.
   */
  keyRotation?: Partial<KeyRotationPolicy> | false;
}

/** What send() resolves with. */
/** Where a sign-in stands after the password (ParleyClient.signIn). */
export type SignInStep =
  | { readonly done: true; readonly user: UserView }
  | {
      readonly done: false;
      readonly next: "totp" | "totp_enrol";
      readonly challenge: string;
      /** Milliseconds since the epoch. */
      readonly expiresAt: number;
    };

export interface SentMessage {
  /** The server's id and time (WS-6). */
  readonly id: string;
  readonly ts: number;
  /** RCPT-3: the id and time chosen at compose time, inside the ciphertext. */
  readonly messageId: string;
  readonly sentAt: number;
}

export interface SendOptions {
  /** RCPT-3: the message id, when the caller chose it at compose time (32 lower-case hex digits). */
  readonly messageId?: string;
  /** RCPT-3: the compose time (ms); default now. */
  readonly sentAt?: number;
}

const READ_RECEIPTS_KEY = "settings/read-receipts";
/** RCPT-4 sync notices sent at once on a new connection; the rest go one per ANNOUNCE_GAP_MS. */
const ANNOUNCE_BURST = 5;
/** Five notices a second at most after the burst: half of the default frame rate (LIMIT-2). */
const ANNOUNCE_GAP_MS = 200;

export interface CreateRoomOptions {
  topic?: string;
  /** Listed in the directory, anyone may join; default false: invitation only (ROOM-2). */
  isPublic?: boolean;
  /** At most this many members (ROOM-14). */
  maxMembers?: number;
  /** Joining a public room without an invitation needs it (ROOM-15). */
  passphrase?: string;
}

/** What `updateRoom` changes (ROOM-16); left out stays. `null` removes the cap or the passphrase, `topic: ""` the topic. */
export interface RoomSettings {
  name?: string;
  topic?: string;
  isPublic?: boolean;
  maxMembers?: number | null;
  passphrase?: string | null;
}

/** An invitation waiting for an answer (ROOM-17). */
export interface PendingInvitation {
  readonly room: RoomView;
  readonly by: { readonly id: string; readonly username: string };
  readonly ts: number;
}

export interface SafetyNumberResult extends SafetyNumber {
  /** What the user knows about the other person's identity key. */
  readonly trust: TrustState;
}

/** One certified device of a person (devices()). */
export interface DeviceInfo {
  readonly deviceId: string;
  /** When the identity key certified it (ms), from the certificate. */
  readonly createdAt: number;
  /** True for the device this client runs on. */
  readonly current: boolean;
}

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
  readonly #servers: ServerList;
  #admin: AdminApi | undefined;
  readonly #device: DeviceKeys;
  readonly #pins: KeyPins;
  readonly #groups: GroupStates;
  readonly #conn: Connection;
  readonly #mls: ReturnType<typeof createMlsConfig>;
  readonly #sync: GroupSync;
  readonly #scheduler: Scheduler;
  readonly #resetChecks: ResetChecks;
  readonly #resetCatchUp: ResetCatchUp;
  /** The server's clock in the last `ready` frame. */
  #readyAt: number | undefined;
  readonly #keys: KeySupply;
  readonly #redelivery: Redelivery;
  readonly #receipts: ReceiptSender;
  readonly #files: FileTransfers;
  #readReceipts = true;
  /** RCPT-6: "userId id" of messages seen sent again lately, so a holder does not repeat them. */
  readonly #wentBy = new RecentIds(4096);
  readonly #rotation: KeyRotation | undefined;
  #user: UserView | undefined;
  #link: NewDeviceLink | undefined;
  #status: ConnectionStatus = { state: "offline", reason: "not_started" };

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
    const servers = new ServerList(options.baseUrl);
    this.#servers = servers;
    this.#session = new SessionManager({
      servers,
      fetch: options.fetch,
      store,
      now,
      onSignedOut: () => this.#conn.stop("signed_out"),
    });
    this.#files = new FileTransfers(
      {
        info: () => fetchServerInfo(servers.current, options.fetch),
        raw: (method, path, headers, body) => this.#session.raw(method, path, headers, body),
      },
      { sleep: (ms) => sleep(timers, ms) },
    );
    this.#device = new DeviceKeys(store, now);
    this.#pins = new KeyPins(store, {
      identityChanged: (change) => {
        this.emit("identity_changed", change);
        this.#dropSuperseded(change.userId);
      },
      deviceAdded: (event) => this.emit("device_added", event),
    });
    this.#mls = createMlsConfig({
      ...options.mls,
      // The certificate's signature was checked by crypto (an uncertified leaf is refused);
      // what is left is the person's identity key against the one pinned for them.
      verifyDevice: async (certificate) => {
        // IDENT-5: a device its person removed is never accepted again, whatever the server says.
        if (await this.#pins.isRevoked(certificate.userId, certificate.deviceId)) return false;
        await this.#observe(certificate);
        return true; // a changed identity is reported (identity_changed), not refused: the group must go on
      },
    });
    this.#groups = new GroupStates(store, this.#mls, timers);
    this.#conn = new Connection({
      servers,
      WebSocket: options.WebSocket,
      token: (refresh) => this.#session.accessToken(refresh),
      deviceId: () => this.#device.identity?.deviceId ?? this.#device.pendingId ?? this.#identity().deviceId,
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
      onSignedOut: (code) => {
        if (code === "device_removed")
          void this.#removedHere().catch((e: unknown) => this.#report(asClientError(e)));
        else void this.#session.forget();
      },
    });
    this.#scheduler = new Scheduler(timers, (e) => this.#report(asClientError(e)));
    this.#resetChecks = new ResetChecks(
      (userId) => this.#scheduler.later(0, () => this.#identityResetHint(userId)),
      { timers, now },
    );
    this.#resetCatchUp = new ResetCatchUp({
      store,
      list: async (since) =>
        (await this.#conn.request({ type: "identity.resets.list", since }, "identity.resets")).userIds,
      check: async (userId) => {
        try {
          await this.#identityResetHint(userId);
        } catch (e) {
          if (isConnectionGone(e)) throw e;
          this.#report(asClientError(e));
        }
      },
    });
    this.#keys = new KeySupply({
      device: this.#device,
      server: this.#conn,
      identity: () => this.#identity(),
      onNewDevice: () => this.#sync.newDevice(),
      report: (error) => this.#report(error),
      closed: () => this.#scheduler.closed,
    });
    this.#redelivery = new Redelivery({
      store,
      now,
      ...(options.redeliveryKeepMs !== undefined ? { keepMs: options.redeliveryKeepMs } : {}),
      readReceipts: () => this.#readReceipts,
      changed: (event) => this.emit("delivery", event),
    });
    this.#receipts = new ReceiptSender({
      scheduler: this.#scheduler,
      fire: (frame) => this.#conn.fire(frame),
      ...(options.receiptBatchMs !== undefined ? { batchMs: options.receiptBatchMs } : {}),
    });
    this.#sync = new GroupSync({
      groups: this.#groups,
      device: this.#device,
      pins: this.#pins,
      server: this.#conn,
      mls: this.#mls,
      identity: () => this.#identity(),
      scheduler: this.#scheduler,
      out: {
        message: (event, held) => this.#onMessage(event, held),
        sync: (roomId, from, notice) =>
          this.#scheduler.later(0, () => this.#answerSync(roomId, from, notice)),
        membership: (event) => this.emit("membership", event),
        error: (error, roomId, messageId) => this.#report(error, roomId, messageId),
        followed: (event) => this.emit("followed_post", event),
      },
      random: this.#o.random,
      syncTimeoutMs: options.syncTimeoutMs ?? 10_000,
      commitRetries: options.commitRetries ?? 5,
    });
    if (options.keyRotation !== false) {
      this.#rotation = new KeyRotation({
        store,
        scheduler: this.#scheduler,
        now,
        random: this.#o.random,
        policy: { ...KEY_ROTATION_DEFAULTS, ...options.keyRotation },
        update: (roomId) => this.#autoUpdate(roomId),
        groupRooms: () => this.#groupRooms(),
      });
    }
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

  /**
   * Signs in with the password alone. An account that needs a second step (AUTH-14) rejects
   * with `second_factor_required`: use signIn() for those.
   */
  async login(username: string, password: string): Promise<UserView> {
    const step = await this.signIn(username, password);
    if (!step.done) throw new ParleyClientError("second_factor_required");
    return step.user;
  }

  /**
   * The password step of a sign-in (AUTH-2, AUTH-14): `done` with the user, or the second step
   * the server asks for: `totp` (a code: signInWithCode) or `totp_enrol` (the server requires
   * TOTP and the account has none yet: signInEnrol, then signInConfirm). The challenge takes a
   * few wrong codes; `login_challenge_invalid` means start again with the password.
   */
  async signIn(username: string, password: string): Promise<SignInStep> {
    const answer = await this.#session.login(username, password);
    if ("challenge" in answer)
      return { done: false, next: answer.next, challenge: answer.challenge, expiresAt: answer.expiresAt };
    return { done: true, user: answer.user };
  }

  /** AUTH-14: completes a sign-in with an authenticator code or a TOTP recovery code. */
  async signInWithCode(challenge: string, code: string): Promise<UserView> {
    return (await this.#session.loginWithCode(challenge, code)).user;
  }

  /** AUTH-14: the secret a sign-in held back for enrolment shows (as text, and as a QR of `uri`). */
  signInEnrol(challenge: string): Promise<TotpEnrolment> {
    return this.#session.loginEnrol(challenge);
  }

  /** AUTH-14: the first code turns TOTP on and completes the sign-in; the recovery codes are shown once. */
  async signInConfirm(challenge: string, code: string): Promise<{ user: UserView; recoveryCodes: string[] }> {
    const done = await this.#session.loginConfirm(challenge, code);
    return { user: done.session.user, recoveryCodes: done.recoveryCodes };
  }

  /**
   * POLICY-2: fetches and verifies the server's signed policy, pins it on first use, and emits
   * `policy_changed` when it (or its key) differs from the pin.
   */
  async checkServerPolicy(pins: PolicyPins): Promise<PolicyCheck> {
    const origin = this.#servers.current;
    const check = await pins.check(origin, await fetchServerPolicy(origin, this.#o.fetch));
    if (check.state === "changed") this.emit("policy_changed", check);
    return check;
  }

  // ------------------------------------------------------------------ account self-service (ACCT)

  /** ACCT-1: this account's live sessions, newest first; `current` is this one. */
  async sessions(): Promise<SessionView[]> {
    const answer = await this.#session.api("GET", "/api/sessions");
    return expectShape<SessionsResponse>(SessionsResponse, answer, "sessions").sessions;
  }

  /** ACCT-2: ends a session of this account; its sockets close with `session_ended` at once. */
  async endSession(sessionId: string): Promise<void> {
    await this.#session.api("DELETE", `/api/sessions/${encodeURIComponent(sessionId)}`);
  }

  /**
   * ACCT-3: deletes the account (the password confirms it). The server removes it from every
   * room and deletes its devices, keys, files and sessions; this device then erases what it
   * holds, as a removed device does. Answers what the server deleted.
   */
  async deleteAccount(password: string): Promise<AccountDeletedResponse["deleted"]> {
    const answer = await this.#session.api("DELETE", "/api/me", { password });
    const { deleted } = expectShape<AccountDeletedResponse>(
      AccountDeletedResponse,
      answer,
      "account deletion",
    );
    this.#conn.stop("account_deleted");
    this.#scheduler.close();
    this.#resetChecks.clear();
    this.#groups.cancelWaiters();
    await this.#sync.drain();
    await this.#session.forget();
    await this.#device.wipe();
    return deleted;
  }

  /** ACCT-6: the people whose invitations this account refuses. */
  async blocked(): Promise<BlocksResponse["blocked"]> {
    const answer = await this.#session.api("GET", "/api/blocks");
    return expectShape<BlocksResponse>(BlocksResponse, answer, "blocks").blocked;
  }

  /** ACCT-6: refuses `userId`'s room invitations and direct conversations from now on. */
  async block(userId: string): Promise<void> {
    await this.#session.api("PUT", `/api/blocks/${encodeURIComponent(userId)}`);
  }

  async unblock(userId: string): Promise<void> {
    await this.#session.api("DELETE", `/api/blocks/${encodeURIComponent(userId)}`);
  }

  // ------------------------------------------------------------------ two-step sign-in (AUTH-13)

  /** Whether the account has TOTP on, whether the server requires it, and recovery codes left. */
  async twoFactorStatus(): Promise<TotpStatus> {
    return expectShape<TotpStatus>(
      TotpStatusSchema,
      await this.#session.api("GET", "/api/totp"),
      "TOTP status",
    );
  }

  /** Starts enrolment (after the password): the secret and its otpauth:// URI, shown once. */
  async enrolTwoFactor(password: string): Promise<TotpEnrolment> {
    return expectShape<TotpEnrolment>(
      TotpEnrolmentSchema,
      await this.#session.api("POST", "/api/totp/enrol", { password }),
      "TOTP enrolment",
    );
  }

  /** The authenticator's first code turns TOTP on; answers the ten recovery codes, shown once. */
  async confirmTwoFactor(code: string): Promise<string[]> {
    const answer = await this.#session.api("POST", "/api/totp/confirm", { code });
    return expectShape<TotpRecoveryCodes>(TotpRecoveryCodes, answer, "TOTP recovery codes").recoveryCodes;
  }

  /** Turns TOTP off, with the password and a current code (or a recovery code). */
  async disableTwoFactor(password: string, code: string): Promise<void> {
    await this.#session.api("POST", "/api/totp/disable", { password, code });
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
   *
   * A device without an identity makes the person's identity key only when the account has
   * none yet (its first device). Otherwise this rejects with `identity_link_required` and
   * nothing is created: link the device (startLink) or reset the identity (resetIdentity).
   */
  async connect(timeoutMs = 30_000): Promise<void> {
    const session = this.#session.current;
    if (session === undefined) throw new ParleyClientError("not_signed_in");
    const userId = session.user.id;
    if ((await this.#device.load(userId)) === undefined) {
      let key = await this.#device.identityKey();
      if (key === undefined) {
        const { identityKey } = await this.#session.api<IdentityResponse>("GET", "/api/identity");
        if (identityKey !== null) throw new ParleyClientError("identity_link_required");
        key = generateIdentityKey();
        await this.#device.saveIdentityKey(key);
      }
      await this.#device.create(userId, key);
    }
    await this.#pinOwn();
    this.#scheduler.open();
    const shared = await this.#o.store.get(READ_RECEIPTS_KEY);
    this.#readReceipts = shared === undefined || shared[0] !== 0;
    this.#conn.start();
    await this.#conn.whenReady(timeoutMs);
  }

  /**
   * Whether this device can connect as it is: `ready` (it has its identity), `first_device`
   * (the account has no identity yet: connect() makes one), or `link_required` (connect()
   * would reject with `identity_link_required`).
   */
  async identityStatus(): Promise<"ready" | "first_device" | "link_required"> {
    const session = this.#session.current;
    if (session === undefined) throw new ParleyClientError("not_signed_in");
    if ((await this.#device.load(session.user.id)) !== undefined) return "ready";
    if ((await this.#device.identityKey()) !== undefined) return "ready";
    const { identityKey } = await this.#session.api<IdentityResponse>("GET", "/api/identity");
    return identityKey === null ? "first_device" : "link_required";
  }

  /** Closes the connection and stops every timer; resolves after work in progress has finished. */
  async close(): Promise<void> {
    this.#scheduler.close();
    this.#resetChecks.clear();
    this.#conn.stop("closed");
    this.#groups.cancelWaiters();
    await this.#sync.drain();
  }

  /** Every account on the server (GET /api/users). */
  async users(): Promise<UserWithPresence[]> {
    return (await this.#session.api<{ users: UserWithPresence[] }>("GET", "/api/users")).users;
  }

  /** The rooms and direct conversations the user is in. */
  async rooms(): Promise<RoomView[]> {
    return (await this.#conn.request({ type: "room.list" }, "rooms")).rooms;
  }

  /**
   * A page of the public-room directory (ROOM-11), oldest first: rooms whose name contains
   * `query`; pass the answer's `next` as `after` for the following page (absent: no more).
   */
  async discoverRooms(options: { query?: string; after?: string; limit?: number } = {}): Promise<{
    rooms: RoomView[];
    next?: string;
  }> {
    const answer = await this.#conn.request({ type: "room.discover", ...options }, "rooms");
    return { rooms: answer.rooms, ...(answer.next !== undefined ? { next: answer.next } : {}) };
  }

  async members(roomId: string) {
    return (await this.#conn.request({ type: "room.members", roomId }, "members")).members;
  }

  /** The MLS epoch this device holds for a room, or undefined when it is not in its group. */
  async epoch(roomId: string): Promise<number | undefined> {
    const e = await this.#groups.epoch(roomId);
    return e === undefined ? undefined : Number(e);
  }

  /**
   * The MLS cipher suite of the room's group (MLS-9), for a conversation's security details:
   * "xwing" is post-quantum (X-Wing: ML-KEM-768 + X25519). Undefined when this device is not
   * in the group. A group keeps its suite when the server changes its own.
   */
  async suite(roomId: string): Promise<MlsSuite | undefined> {
    return this.#groups.suite(roomId);
  }

  /**
   * The devices that hold the room's keys, as this device's MLS group has them (the leaves of
   * its ratchet tree), for a conversation's security details; empty when this device is not in
   * the group.
   */
  async roomDevices(roomId: string): Promise<{ userId: string; deviceId: string }[]> {
    const state = await this.#groups.get(canonicalRoomId(roomId));
    if (state === undefined) return [];
    return groupMembers(state).map((m) => m.device);
  }

  /** The suite the server makes new groups and KeyPackages in, once connected (MLS-9). */
  get serverSuite(): MlsSuite {
    return this.#device.suite;
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
        ...(options.maxMembers !== undefined ? { maxMembers: options.maxMembers } : {}),
        ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      },
      "room",
    );
    const roomId = canonicalRoomId(answer.room.id);
    await this.#sync.engine.startGroup(roomId, await this.#sync.engine.claimOwnOthers());
    await this.#rotation?.refreshed(roomId);
    return answer.room;
  }

  /** Invites a user to a room and adds their devices to its group (Welcome). */
  async invite(roomId: string, userId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#conn.request({ type: "room.invite", roomId: id, userId }, "ok");
    await this.#sync.engine.ensureGroup(id);
    await this.#sync.engine.addUser(id, userId);
  }

  /**
   * Joins a room: on the server (ROOM-3), then its group, from a Welcome if one came or by
   * external Commit (RFC 9420 §12.4.3.2) otherwise.
   */
  async join(roomId: string, passphrase?: string): Promise<RoomView> {
    const answer = await this.#conn.request(
      { type: "room.join", roomId, ...(passphrase !== undefined ? { passphrase } : {}) },
      "room",
    );
    const id = canonicalRoomId(answer.room.id);
    await this.#sync.engine.ensureGroup(id);
    // This person's other devices come in with this one, not at their next reconnect.
    await this.#sync.engine.addUser(id, this.#identity().userId);
    return answer.room;
  }

  /**
   * The public room a person means by `nameOrId`: a room id, or the name of a public room
   * (compared without regard to case). Undefined when no public room has that name;
   * `ambiguous_room_name` when several do (join those by id).
   */
  async findPublicRoom(nameOrId: string): Promise<RoomView | undefined> {
    const wanted = nameOrId.trim().toLowerCase();
    const found: RoomView[] = [];
    let after: string | undefined;
    // A bounded walk: a name matches few rooms, and each page holds up to 100 of them.
    for (let page = 0; page < 20; page++) {
      const answer = await this.discoverRooms({
        query: nameOrId.trim(),
        limit: 100,
        ...(after !== undefined ? { after } : {}),
      });
      found.push(...answer.rooms.filter((r) => r.name.toLowerCase() === wanted));
      if (answer.next === undefined) break;
      after = answer.next;
    }
    if (found.length > 1) throw new ParleyClientError("ambiguous_room_name");
    return found[0];
  }

  /** Changes a room's settings (ROOM-16): name and topic need a moderator, the rest the owner. */
  async updateRoom(roomId: string, settings: RoomSettings): Promise<RoomView> {
    const answer = await this.#conn.request(
      { type: "room.update", roomId: canonicalRoomId(roomId), ...settings },
      "room",
    );
    return answer.room;
  }

  /** The owner makes a member a moderator, or a moderator a member again (ROOM-16). */
  async setRole(roomId: string, userId: string, role: "moderator" | "member"): Promise<void> {
    await this.#conn.request({ type: "room.role", roomId: canonicalRoomId(roomId), userId, role }, "ok");
  }

  /** This user's invitations waiting for an answer (ROOM-17). */
  async invitations(): Promise<PendingInvitation[]> {
    return (await this.#conn.request({ type: "room.invites" }, "invites")).invites;
  }

  /** Turns an invitation down; the room's members are told (ROOM-17). */
  async decline(roomId: string): Promise<void> {
    await this.#conn.request({ type: "room.decline", roomId: canonicalRoomId(roomId) }, "ok");
  }

  /** The owner deletes the room for everyone (ROOM-18). */
  async deleteRoom(roomId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#conn.request({ type: "room.delete", roomId: id }, "ok");
    await this.#sync.forget(id);
    await this.#rotation?.forget(id);
  }

  /**
   * Changes this account's password (AUTH-8): every other session of the account ends, this one
   * stays signed in.
   */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.#session.api("POST", "/api/password", { currentPassword, newPassword });
  }

  /** AUTH-12: ten new recovery codes (shown once; the old set stops working). */
  createRecoveryCodes(password: string): Promise<string[]> {
    return createRecoveryCodes((m, p, b) => this.#session.api(m, p, b), password);
  }

  /** AUTH-12: how many unused recovery codes this account has left. */
  recoveryCodesLeft(): Promise<number> {
    return recoveryCodesLeft((m, p) => this.#session.api(m, p));
  }

  /** The admin API as this account; the server refuses it to anyone not an admin (AUTH-10). */
  get admin(): AdminApi {
    this.#admin ??= new AdminApi((m, p, b) => this.#session.api(m, p, b));
    return this.#admin;
  }

  /** Leaves a room; the remaining members remove this user's devices from the group. */
  async leave(roomId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#conn.request({ type: "room.leave", roomId: id }, "ok");
    await this.#sync.forget(id);
    await this.#rotation?.forget(id);
  }

  /** Removes a user from a room (owner or moderator, ROOM-6) and all their devices from its group. */
  async remove(roomId: string, userId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#conn.request({ type: "room.remove", roomId: id, userId }, "ok");
    await this.#sync.engine.removeUser(id, userId);
  }

  /** ROOM-19: bans a user from a room (a member is removed, with their devices from its group). */
  async ban(roomId: string, userId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#conn.request({ type: "room.ban", roomId: id, userId }, "ok");
    await this.#sync.engine.removeUser(id, userId);
  }

  /** ROOM-19: lifts a ban. */
  async unban(roomId: string, userId: string): Promise<void> {
    await this.#conn.request({ type: "room.unban", roomId: canonicalRoomId(roomId), userId }, "ok");
  }

  /** ROOM-19: a room's bans (owner and moderators only). */
  async bans(roomId: string): Promise<ServerFrameOf<"bans">["bans"]> {
    return (await this.#conn.request({ type: "room.bans", roomId: canonicalRoomId(roomId) }, "bans")).bans;
  }

  /** The direct conversation with a user: a two-member room and group (ROOM-8). */
  async openDirect(userId: string): Promise<RoomView> {
    const answer = await this.#conn.request({ type: "direct.open", userId }, "room");
    const roomId = canonicalRoomId(answer.room.id);
    await this.#sync.engine.joinDirect(roomId, userId);
    return answer.room;
  }

  /**
   * Encrypts and sends a text or a structured payload, stamped with a message id and compose
   * time (RCPT-3); resolves with the server's id and time once it accepted it. From then on
   * `delivery` events tell which member devices acknowledged it (RCPT-2), and this device sends
   * it again to those that come back without it (RCPT-5).
   */
  async send(roomId: string, content: string | Content, options: SendOptions = {}): Promise<SentMessage> {
    const id = canonicalRoomId(roomId);
    const c: Content = typeof content === "string" ? { text: content } : content;
    const me = this.#identity();
    const bare = { id: options.messageId ?? newMessageId(), sent: options.sentAt ?? this.#o.now() };
    const sig = bytesToBase64(await signMessageOrigin(me, originText(id, me, bare, c)));
    const stamp = { ...bare, sig };
    const plaintext = encodeContent(c, stamp);
    if ((await this.#groups.get(id)) === undefined) await this.#sync.engine.ensureGroup(id);
    const { message, members } = await this.#sync.crypto.encryptFor(id, plaintext);
    await this.#redelivery.recordSent(id, stamp, c, members, me);
    // CHAT-4: what is deleted for everyone is not sent again to a device that lacks it.
    if ("delete" in c) await this.#redelivery.forgetContent(id, me.userId, c.delete.to.id, true);
    try {
      const ack = await this.#conn.request(
        { type: "message.send", to: { room: id }, payload: bytesToBase64(message) },
        "ack",
      );
      this.#rotation?.sent(id).catch((e: unknown) => this.#report(asClientError(e), id));
      return { id: ack.id, ts: ack.ts, messageId: stamp.id, sentAt: stamp.sent };
    } catch (e) {
      this.#redelivery.forgetSent(stamp.id);
      throw e;
    }
  }

  // ------------------------------------------------------------------ files (docs/PROTOCOL.md, "Files")

  /** The server's file settings from /api/info (on or off, largest size, TTL, types, quota); kept after the first call. */
  fileLimits(refresh = false): Promise<FilesInfo> {
    return this.#files.limits(refresh);
  }

  /**
   * Rejects with what the server would answer (`files_disabled`, `file_too_large`,
   * `file_type_refused`) without uploading anything: call it before a transfer starts.
   */
  checkFile(file: { readonly size: number; readonly type: string }): Promise<void> {
    return this.#files.check(file);
  }

  /**
   * Encrypts `source` with a fresh key, chunk by chunk, and uploads the ciphertext to the
   * room's blob store (resuming after a cut connection); resolves with the descriptor that
   * send(roomId, { file }) announces. Memory stays bounded by one part (1 MiB).
   */
  uploadFile(
    roomId: string,
    source: FileSource,
    meta: FileMeta,
    options: TransferOptions = {},
  ): Promise<FileDescriptor> {
    return this.#files.upload(canonicalRoomId(roomId), source, meta, options);
  }

  /** uploadFile(), then send() of the descriptor: one message that members see as the file. */
  async sendFile(
    roomId: string,
    source: FileSource,
    meta: FileMeta,
    options: TransferOptions & SendOptions = {},
  ): Promise<SentMessage & { readonly file: FileDescriptor }> {
    const file = await this.uploadFile(roomId, source, meta, options);
    const sent = await this.send(roomId, { file }, options);
    return { ...sent, file };
  }

  /**
   * Downloads a file announced in a room this user is in, opening and checking it chunk by
   * chunk into `sink`. Rejects with `file_corrupt` (discard what the sink got), `file_expired`
   * (410), `not_found`, or `transfer_cancelled`.
   */
  downloadFile(file: FileDescriptor, sink: FileSink, options: TransferOptions = {}): Promise<void> {
    return this.#files.download(file, sink, options);
  }

  /** Deletes a file on the server: this user's own, or a view-once file of a room they are in. */
  deleteFile(id: string): Promise<void> {
    return this.#files.remove(id);
  }

  /** RCPT-2: what is known of the delivery of a message this device sent, or undefined. */
  delivery(messageId: string): DeliveryEvent | undefined {
    return this.#redelivery.state(messageId);
  }

  /** Whether this user shares read receipts (and so sees other people's). Default true. */
  get readReceipts(): boolean {
    return this.#readReceipts;
  }

  /** RCPT-1: turns sharing read receipts on or off; off also hides other people's (kept in the store). */
  async setReadReceipts(on: boolean): Promise<void> {
    this.#readReceipts = on;
    await this.#o.store.put(READ_RECEIPTS_KEY, new Uint8Array([on ? 1 : 0]));
  }

  /**
   * RCPT-1: the user saw these messages of other people (by their RCPT-3 ids); their senders'
   * devices learn it, unless this user does not share read receipts.
   */
  markRead(roomId: string, messages: readonly { readonly from: string; readonly messageId: string }[]): void {
    if (!this.#readReceipts) return;
    const id = canonicalRoomId(roomId);
    const me = this.user?.id;
    for (const m of messages) if (m.from !== me) this.#receipts.add(id, m.from, m.messageId, "read");
  }

  /** Tells the room's members this user started or stopped typing (PRES-2). */
  typing(roomId: string, active: boolean): void {
    this.#conn.fire({ type: "typing", roomId, active });
  }

  // ------------------------------------------------------------------ following (SUB-1)

  /**
   * Follows a user (SUB-1): their posts to public rooms this user is not in arrive with
   * `via: "subscription"`. Following twice is harmless; oneself is `invalid_target`.
   */
  async subscribe(userId: string): Promise<void> {
    await this.#conn.request({ type: "subscribe", userId }, "ok");
  }

  /** Stops following a user; resolves whether or not this user was following them. */
  async unsubscribe(userId: string): Promise<void> {
    await this.#conn.request({ type: "unsubscribe", userId }, "ok");
  }

  /** The users this account follows. */
  async subscriptions(): Promise<{ id: string; username: string }[]> {
    return (await this.#conn.request({ type: "subscriptions.list" }, "subscriptions")).users;
  }

  /**
   * A Commit with a fresh path for this device (RFC 9420 §12.4): new keys, so a copy of this
   * device's old state can no longer read the group (post-compromise security).
   */
  async updateKeys(roomId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#sync.engine.selfUpdate(id);
    await this.#rotation?.refreshed(id);
  }

  // ------------------------------------------------------------------ identity

  /**
   * The safety number of this person and `userId`, over the two people's identity keys only
   * (docs/SECURITY.md): the same on every device of either, unchanged when someone adds one.
   * Our own key comes from this device, theirs is the one pinned (pinned now from the
   * server's certificates if they were never seen), so a server that shows either side
   * another key makes the two sides' numbers differ.
   */
  async safetyNumber(userId: string): Promise<SafetyNumberResult> {
    const me = this.#identity();
    let theirs = await this.#pins.identityKey(userId);
    if (theirs === undefined || userId === me.userId) {
      await this.devices(userId);
      theirs = await this.#pins.identityKey(userId);
    }
    if (theirs === undefined) throw new ParleyClientError("no_identity");
    const number = computeSafetyNumber(
      { userId: me.userId, identityKeys: [me.certificate.identityKey] },
      { userId, identityKeys: [theirs] },
    );
    return { ...number, trust: await this.#pins.state(userId) };
  }

  /** The user compared safety numbers: the person's identity key as pinned now is trusted. */
  async markVerified(userId: string): Promise<void> {
    const wasChanged = (await this.#pins.state(userId)).startsWith("changed");
    await this.#pins.markVerified(userId);
    if (wasChanged) this.#updateKeysWith(userId);
  }

  /**
   * The user accepts a person's changed identity key without verifying it: `changed` (or
   * `changed_unverified`) becomes `unverified`.
   */
  async acceptKeyChange(userId: string): Promise<void> {
    await this.#pins.acknowledge(userId);
    this.#updateKeysWith(userId);
  }

  /**
   * A person's devices whose certificates verify under their identity key (the one pinned;
   * pinned now on first sight), with when each was certified. Devices the server lists without
   * a valid certificate are left out, and a certificate from another identity key raises
   * `identity_changed` like one met in a group.
   */
  async devices(userId: string): Promise<DeviceInfo[]> {
    const answer = await this.#conn.request({ type: "devices.list", userId }, "devices");
    const me = this.#identity();
    for (const r of answer.revoked ?? []) await this.#deviceRemoved(userId, r.deviceId, r.revocation);
    const out: DeviceInfo[] = [];
    for (const d of answer.devices) {
      if (d.certificate === undefined) continue;
      let certificate: DeviceCertificate;
      try {
        certificate = decodeCertificate(base64ToBytes(d.certificate));
      } catch {
        continue;
      }
      const ok =
        certificate.userId === userId &&
        certificate.deviceId === d.deviceId &&
        verifyDeviceCertificate(certificate, base64ToBytes(d.signatureKey));
      if (!ok) continue;
      await this.#observe(certificate);
      const pinned = await this.#pins.identityKey(userId);
      if (pinned === undefined || bytesToBase64(pinned) !== bytesToBase64(certificate.identityKey)) continue;
      out.push({
        deviceId: d.deviceId,
        createdAt: certificate.createdAt,
        current: userId === me.userId && d.deviceId === me.deviceId,
      });
    }
    return out;
  }

  /**
   * IDENT-5: removes another device of this person (ask the user to confirm first: it cannot be
   * undone). This device's identity key signs a revocation of that device and its key; the
   * server deletes the device, closes its sockets and ends its sessions; this device then
   * takes its leaves out of every group it shares with it (other members do so for the rest).
   * Everyone who shares a room with this person sees `device_removed`, and the removed device
   * erases its keys. `invalid_target` for this very device, `device_not_found` for a device
   * this person does not have.
   */
  async removeDevice(deviceId: string): Promise<void> {
    const me = this.#identity();
    if (deviceId === me.deviceId) throw new ParleyClientError("invalid_target");
    const identityKey = await this.#device.identityKey();
    if (identityKey === undefined) throw new ParleyClientError("identity_link_required");
    const answer = await this.#conn.request({ type: "devices.list", userId: me.userId }, "devices");
    const listed = answer.devices.find((d) => d.deviceId === deviceId && d.certificate !== undefined);
    let deviceKey: Uint8Array | undefined;
    if (listed?.certificate !== undefined) {
      const key = base64ToBytes(listed.signatureKey);
      try {
        const certificate = decodeCertificate(base64ToBytes(listed.certificate));
        const ours =
          certificate.userId === me.userId &&
          certificate.deviceId === deviceId &&
          bytesToBase64(certificate.identityKey) === bytesToBase64(identityKey.publicKey) &&
          verifyDeviceCertificate(certificate, key);
        if (ours) deviceKey = key;
      } catch {
        // not a certificate of ours: no such device
      }
    }
    if (deviceKey === undefined) throw new ParleyClientError("device_not_found");
    const revocation = signDeviceRevocation(
      identityKey,
      { userId: me.userId, deviceId },
      deviceKey,
      this.#o.now(),
    );
    const encoded = bytesToBase64(encodeRevocation(revocation));
    await this.#conn.request({ type: "device.remove", deviceId, revocation: encoded }, "ok");
    await this.#deviceRemoved(me.userId, deviceId, encoded, true);
  }

  /**
   * IDENT-5: a revocation of `userId`'s device, from the server (pushed, or with their device
   * list). Checked against the identity key pinned for them; news is reported once, and the
   * device's leaves leave this device's groups (at once when `first`: this device removed it).
   */
  async #deviceRemoved(userId: string, deviceId: string, encoded: string, first = false): Promise<void> {
    let ok = false;
    let identityKey: Uint8Array | undefined;
    try {
      const r = decodeRevocation(base64ToBytes(encoded));
      ok = r.userId === userId && r.deviceId === deviceId && verifyDeviceRevocation(r);
      identityKey = r.identityKey;
    } catch {
      ok = false;
    }
    if (!ok || identityKey === undefined) return;
    const me = this.#device.identity;
    if (me !== undefined && me.userId === userId && me.deviceId === deviceId) return; // the socket closes next
    if (!(await this.#pins.revoke(userId, deviceId, identityKey))) return;
    this.emit("device_removed", { userId, deviceId });
    const device = { userId, deviceId };
    for (const roomId of await this.#groupRooms()) {
      if (first) {
        try {
          await this.#sync.engine.removeDevices(roomId, [device]);
        } catch (e) {
          if (isConnectionGone(e)) throw e;
          this.#report(asClientError(e), roomId);
          void this.#sync.engine.scheduleDeviceRemoval(roomId, device);
        }
      } else {
        await this.#sync.engine.scheduleDeviceRemoval(roomId, device);
      }
    }
  }

  /** IDENT-5: the server says this device was removed: erase what it holds, and say so. */
  async #removedHere(): Promise<void> {
    const me = this.#device.identity;
    const userId = me?.userId ?? this.user?.id ?? "";
    const deviceId = me?.deviceId ?? this.#device.pendingId ?? "";
    this.#scheduler.close();
    this.#resetChecks.clear();
    this.#groups.cancelWaiters();
    await this.#sync.drain();
    await this.#session.forget();
    await this.#device.wipe();
    this.emit("this_device_removed", { userId, deviceId });
  }

  // ------------------------------------------------------------------ linking (IDENT-3)

  /**
   * On a new device (connect() rejected with `identity_link_required`): connects without an
   * identity and opens a link. Show `code` (typed on a terminal) or `qrPayload` (scanned), then
   * the SAS once `sas` resolves; call confirm() when the user saw the same SAS on the other
   * device. `done` resolves once the identity key arrived and this device is registered and
   * connected; from then on the client works as after connect().
   */
  async startLink(timeoutMs = 30_000): Promise<PendingLink> {
    const session = this.#session.current;
    if (session === undefined) throw new ParleyClientError("not_signed_in");
    const userId = session.user.id;
    await this.#device.pending();
    this.#scheduler.open();
    this.#conn.start();
    await this.#conn.whenReady(timeoutMs);
    const link = new NewDeviceLink(this.#conn);
    this.#link = link;
    return link.open(async (payload) => {
      if (payload.userId !== userId) throw new ParleyClientError("link_invalid");
      await this.#device.saveIdentityKey(payload.identityKey);
      for (const mark of payload.verified) {
        if (mark.userId !== userId) await this.#pins.markVerified(mark.userId, mark.identityKey);
      }
      await this.#device.create(userId, payload.identityKey);
      await this.#pinOwn();
      if (this.#link === link) this.#link = undefined;
      await this.#identityReady();
    });
  }

  /**
   * On an existing device: joins the link the new device shows (its short code as typed, or
   * its QR payload). Resolves with the SAS to compare; confirm() then sends this person's
   * identity key and verification marks to the new device, sealed end to end. A wrong code
   * rejects with `link_not_found`; a QR key the server contradicts with `link_mismatch`.
   */
  async linkDevice(codeOrQr: string): Promise<JoinedLink> {
    const me = this.#identity();
    return joinLink(this.#conn, codeOrQr, async (): Promise<LinkPayload> => {
      const identityKey = await this.#device.identityKey();
      if (identityKey === undefined) throw new ParleyClientError("identity_link_required");
      return { userId: me.userId, identityKey, verified: await this.#pins.verifiedMarks() };
    });
  }

  /**
   * Makes a new identity key for this person (after re-authenticating with `password`) and
   * makes this device anew under it. The account's other devices are removed and signed out;
   * everyone who pinned the old key sees `identity_changed` (an alarm for those who had
   * verified it). Call it instead of linking when no other device is at hand.
   */
  async resetIdentity(password: string, timeoutMs = 30_000): Promise<void> {
    const session = this.#session.current;
    if (session === undefined) throw new ParleyClientError("not_signed_in");
    const key: IdentityKeyPair = generateIdentityKey();
    await this.#session.api("POST", "/api/identity/reset", {
      password,
      identityKey: bytesToBase64(key.publicKey),
    });
    await this.#device.saveIdentityKey(key);
    const running = this.#conn.ready || this.#device.pendingId !== undefined;
    this.#link?.closed();
    this.#link = undefined;
    await this.#device.recreate(session.user.id, key);
    await this.#pinOwn();
    if (running) this.#conn.stop("closed");
    this.#scheduler.open();
    this.#conn.start();
    await this.#conn.whenReady(timeoutMs);
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
    this.#readyAt = ready.serverTime;
    this.#device.suite = ready.mlsSuite;
    // A device that is still being linked has nothing to register or join yet.
    if (this.#device.identity === undefined) return;
    await this.#identityReady();
  }

  /** Registers this device (first time) and joins its rooms' groups. */
  async #identityReady(): Promise<void> {
    await this.#keys.ready();
    this.#receipts.flushSoon();
    this.#scheduler.resume();
    this.#rotation?.connected();
    // Rooms whose group this device is not in (a new device, lost state): join them in the
    // background, after the handshake queue the server resends on auth has been applied. A
    // connection lost meanwhile ends the pass quietly: the next connection starts a new one.
    // Then leaves of the account's old identity go (IDENT-4), and RCPT-4: each group hears
    // what this device holds and awaits.
    this.#scheduler.later(0, () =>
      this.#sync.engine
        .rejoinRooms()
        .then(async (roomIds) => {
          await this.#dropSupersededOwn(roomIds);
          await this.#announce(roomIds);
        })
        .catch((e: unknown) => {
          if (!isConnectionGone(e)) throw e;
        }),
    );
    // IDENT-4: the identity.reset hints pushed while this device was away.
    const readyAt = this.#readyAt;
    if (readyAt !== undefined)
      this.#scheduler.later(0, () =>
        this.#resetCatchUp.connected(readyAt).catch((e: unknown) => {
          if (!isConnectionGone(e)) throw e;
        }),
      );
  }

  // ------------------------------------------------------------------ delivery (RCPT-*)

  /**
   * RCPT-3: each message once per (sender, id). Acknowledged when new, and again for a live copy
   * (its sender asks again); a copy sent again to another device is not acknowledged twice.
   */
  async #onMessage(event: MessageEvent, held: HeldMessage | undefined): Promise<void> {
    const c = event.content;
    // CHAT-4: a delete from the message's own sender (MLS authenticated it): its text is not
    // kept to send or pass on again.
    if ("delete" in c && c.delete.to.from === event.from.userId) {
      const mine = event.from.userId === this.#identity().userId;
      await this.#redelivery.forgetContent(event.roomId, event.from.userId, c.delete.to.id, mine);
    }
    if (event.messageId !== undefined && event.sentAt !== undefined) {
      if (event.redelivered === true) this.#wentBy.add(`${event.from.userId} ${event.messageId}`);
      const pass: Passable | undefined =
        held?.sig === undefined
          ? undefined
          : {
              origin: {
                userId: event.from.userId,
                deviceId: event.from.deviceId,
                username: event.from.username,
              },
              content: event.content,
              sig: held.sig,
              members: held.members,
            };
      const fresh = await this.#redelivery.received(
        event.roomId,
        event.from.userId,
        { id: event.messageId, sent: event.sentAt },
        pass,
      );
      if (fresh || event.redelivered !== true)
        this.#receipts.add(event.roomId, event.from.userId, event.messageId, "delivered");
      if (!fresh) return;
    }
    this.emit("message", event);
  }

  /** RCPT-4: one sync notice to each group this device is in, after every Commit received so far. */
  async #announce(roomIds: readonly string[]): Promise<void> {
    await this.#sync.drain();
    let sent = 0;
    for (const roomId of roomIds) {
      if ((await this.#groups.get(roomId)) === undefined) continue;
      // Paced beyond the first few: a person in many rooms must not spend the frame budget
      // (LIMIT-2) they need for what they type right after reconnecting.
      if (sent >= ANNOUNCE_BURST) await sleep(this.#o.timers, ANNOUNCE_GAP_MS);
      await this.#notify(roomId, await this.#redelivery.notice(roomId));
      sent++;
    }
  }

  async #notify(roomId: string, notice: SyncNotice): Promise<void> {
    const { message } = await this.#sync.crypto.encryptFor(roomId, encodeSync(notice));
    await this.#conn.request(
      { type: "message.send", to: { room: roomId }, payload: bytesToBase64(message) },
      "ack",
    );
  }

  /** RCPT-4, RCPT-5: another device's notice, answered outside the receive path. */
  async #answerSync(roomId: string, from: DeviceRef, notice: SyncNotice): Promise<void> {
    const me = this.#identity();
    if (sameDevice(from, me)) return;
    const answer = await this.#redelivery.sync(roomId, from, notice);
    for (const id of answer.acknowledge) this.#receipts.add(roomId, from.userId, id, "delivered");
    if (answer.redeliver.length > 0) await this.#redeliver(roomId, answer.redeliver);
    if (answer.relay.length > 0) {
      // RCPT-6: the author's device answers at once; a holder waits, and passes on only what
      // nobody sent again meanwhile (every member sees every batch go by).
      const base = this.#o.relayDelayMs ?? 3000;
      this.#scheduler.later(base + Math.floor(this.#o.random() * base), async () => {
        const left = answer.relay.filter((i) => !this.#wentBy.has(`${i.by?.userId} ${i.stamp.id}`));
        if (left.length > 0) await this.#redeliver(roomId, left);
      });
    }
    if (answer.reply) await this.#notify(roomId, await this.#redelivery.notice(roomId, true));
  }

  /** RCPT-5: one batch, encrypted in the current epoch after every Commit received so far (RFC 9420 §15.2). */
  async #redeliver(roomId: string, items: readonly StampedContent[]): Promise<void> {
    await this.#sync.drain();
    const { message } = await this.#sync.crypto.encryptFor(roomId, encodeBatch(items));
    await this.#conn.request(
      { type: "message.send", to: { room: roomId }, payload: bytesToBase64(message) },
      "ack",
    );
  }

  // ------------------------------------------------------------------ incoming frames

  #onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "mls.handshake":
      case "message":
        this.#sync.receive(frame);
        return;
      case "queue.missed":
        this.emit("queue_missed", { dropped: frame.dropped });
        return;
      case "presence":
        this.emit("presence", { userId: frame.userId, username: frame.username, online: frame.online });
        return;
      case "presence.batch":
        for (const u of frame.users)
          this.emit("presence", { userId: u.userId, username: u.username, online: u.online });
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
      case "receipt.event": {
        const me = this.user?.id;
        if (me !== undefined)
          void this.#redelivery.receipt(frame, me).catch((e: unknown) => this.#report(asClientError(e)));
        return;
      }
      case "keypackages.count":
        if (frame.low) this.#keys.replenish();
        return;
      case "device.removed":
        void this.#deviceRemoved(frame.userId, frame.deviceId, frame.revocation).catch((e: unknown) => {
          if (!isConnectionGone(e)) this.#report(asClientError(e));
        });
        return;
      case "identity.reset":
        this.#resetChecks.hint(frame.userId);
        return;
      case "link.joined":
        if (this.#link?.linkId === frame.linkId) this.#link.joined(frame);
        return;
      case "link.payload":
        if (this.#link?.linkId === frame.linkId) this.#link.payload(frame);
        return;
      case "link.closed":
        if (this.#link?.linkId === frame.linkId) this.#link.closed();
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
      ...(frame.by !== undefined ? { by: frame.by } : {}),
      ...(frame.room !== undefined ? { room: frame.room } : {}),
      ...(frame.changes !== undefined ? { changes: frame.changes } : {}),
      ...(frame.role !== undefined ? { role: frame.role } : {}),
      ...(frame.ts !== undefined ? { ts: frame.ts } : {}),
    });
    if (frame.event === "deleted") {
      // ROOM-13: an admin deleted the room; nobody is in its group any more.
      void this.#sync.forget(roomId);
      void this.#rotation?.forget(roomId);
      return;
    }
    // ROOM-19 and ACCT-3: a ban removes a member like a kick; a deleted account leaves every group.
    const gone =
      frame.event === "left" ||
      frame.event === "removed" ||
      frame.event === "banned" ||
      frame.event === "account_deleted";
    if (!gone) return;
    if (frame.userId === this.user?.id) {
      void this.#sync.forget(roomId);
      return;
    }
    void this.#sync.engine.scheduleRemoval(
      roomId,
      frame.userId,
      frame.event === "removed" || frame.event === "banned",
    );
  }

  // ------------------------------------------------------------------ key updates

  /** A self-update the rotation asked for; false when it cannot be done now. */
  async #autoUpdate(roomId: string): Promise<boolean> {
    if ((await this.#groups.get(roomId)) === undefined || this.#status.state !== "connected") return false;
    try {
      await this.#sync.engine.selfUpdate(roomId);
      return true;
    } catch (e) {
      if (isConnectionGone(e)) return false;
      throw e;
    }
  }

  /** The rooms of this user where this device holds a group. */
  async #groupRooms(): Promise<string[]> {
    const rooms = (await this.rooms()).map((r) => canonicalRoomId(r.id));
    const held = await Promise.all(rooms.map(async (id) => ((await this.#groups.get(id)) ? id : undefined)));
    return held.filter((id): id is string => id !== undefined);
  }

  /**
   * IDENT-4: `userId` has a new identity key: the leaves their old key certified leave the
   * groups this device shares with them (after the person's own new device had its turn).
   */
  #dropSuperseded(userId: string): void {
    this.#scheduler.later(0, async () => {
      for (const roomId of await this.#groupRooms()) {
        await this.#sync.engine.scheduleSupersededRemoval(roomId, userId, () =>
          this.#pins.identityKey(userId),
        );
      }
    });
  }

  /**
   * IDENT-4: the server says `userId` reset their identity. Only a hint: their devices are
   * fetched and checked against the key pinned for them, so a new key raises `identity_changed`
   * and the old leaves' removal is scheduled (#dropSuperseded). People this device never pinned
   * have no leaves it accepted, and this device's own person is handled on their new device.
   * Also what a device that was away runs for each reset it missed (ResetCatchUp).
   */
  async #identityResetHint(userId: string): Promise<void> {
    const me = this.#device.identity;
    if (me === undefined || userId === me.userId) return;
    if ((await this.#pins.identityKey(userId)) === undefined) return;
    await this.devices(userId);
  }

  /**
   * IDENT-4: this device's person reset their identity (here or on another device): leaves of
   * the account's old devices, whose certificates name another identity key, leave this
   * device's groups at once. A device of the account always may remove them (MLS-5).
   */
  async #dropSupersededOwn(roomIds: readonly string[]): Promise<void> {
    const me = this.#identity();
    const key = me.certificate.identityKey;
    for (const roomId of roomIds) {
      try {
        await this.#sync.engine.scheduleSupersededRemoval(roomId, me.userId, async () => key, true);
      } catch (e) {
        if (isConnectionGone(e)) throw e;
        this.#report(asClientError(e), roomId);
      }
    }
  }

  /**
   * After a key-change review of `userId`: fresh keys in every group this device shares with
   * them, in the background. Whatever the review's outcome, the group moves past the moment an
   * unknown key may have been in it.
   */
  #updateKeysWith(userId: string): void {
    const rotation = this.#rotation;
    if (rotation === undefined) return;
    this.#scheduler.later(0, async () => {
      const shared: string[] = [];
      for (const roomId of await this.#groupRooms()) {
        const state = await this.#groups.get(roomId);
        if (state !== undefined && groupMembers(state).some((m) => m.device.userId === userId)) {
          shared.push(roomId);
        }
      }
      rotation.soon(shared);
    });
  }

  // ------------------------------------------------------------------ helpers

  /** This account's own identity key, pinned as verified: it comes from this device. */
  async #pinOwn(): Promise<void> {
    const me = this.#identity();
    await this.#pins.pinOwn(me.userId, me.certificate.identityKey, me.deviceId);
  }

  async #observe(certificate: DeviceCertificate): Promise<void> {
    await this.#pins.observe(certificate.userId, certificate.identityKey, certificate.deviceId);
  }

  #report(error: ParleyClientError, roomId?: string, messageId?: string): void {
    if (this.#scheduler.closed && (error.code === "closed" || error.code === "not_connected")) return;
    const event: ErrorEvent = {
      code: error.code,
      error,
      ...(roomId !== undefined ? { roomId } : {}),
      ...(messageId !== undefined ? { messageId } : {}),
    };
    this.emit("error", event);
  }
}
