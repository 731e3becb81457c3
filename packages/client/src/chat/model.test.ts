import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import type { MemberView, RoomView, TotpStatus, UserView, UserWithPresence } from "@parley/protocol";
import { AdminApi } from "../admin.js";
import type { ConnectionStatus } from "../connection.js";
import type { Content } from "../content.js";
import { TypedEmitter } from "../emitter.js";
import { isParleyClientError, ParleyClientError } from "../errors.js";
import type { ClientEvents, DeliveryEvent, MessageEvent } from "../events.js";
import {
  bytesSource,
  type FileDescriptor,
  type FileMeta,
  type FileSink,
  type FileSource,
  type TransferOptions,
} from "../files.js";
import type { TrustState } from "../pins.js";
import type { PolicyCheck, ServerPolicyState, ServerPolicyWatch, VerifiedPolicy } from "../server-policy.js";
import { MemoryStore } from "../store.js";
import { roomView } from "../testing/rooms.js";
import { TYPING_SHOWN_MS } from "../typing.js";
import { reactionGroups } from "./changes.js";
import { History } from "./history.js";
import { ChatModel, type ChatModelOptions } from "./model.js";
import type { ChatChange, ChatClient, ChatHistory, ChatMessage } from "./types.js";

const ALICE: UserView = { id: "u-alice", username: "alice", isAdmin: false };
const BOB = { id: "u-bob", username: "bob" };
const CAROL = { id: "u-carol", username: "Carol" };

const room = roomView;
const member = (u: { id: string; username: string }, online = true): MemberView => ({
  userId: u.id,
  username: u.username,
  role: "member",
  online,
});

/**
 * An in-memory stand-in for ParleyClient: the server's view as plain data, requests answered
 * from it, and the SDK's events emitted by the test.
 */
class FakeClient extends TypedEmitter<ClientEvents> implements ChatClient {
  user: UserView | undefined = ALICE;
  deviceId: string | undefined = "alice-laptop";
  status: ConnectionStatus = { state: "offline", reason: "not_started" };
  roomList: RoomView[] = [];
  people: UserWithPresence[] = [];
  memberLists = new Map<string, MemberView[]>();
  trustStates = new Map<string, TrustState>();
  sent: { roomId: string; text: string }[] = [];
  /** What each send() carried, as given. */
  contents: { roomId: string; content: Content | string }[] = [];
  typingSent: [string, boolean][] = [];
  /** The next send() calls' outcomes, in order; when empty, sends succeed. */
  sendOutcomes: (Error | "ok")[] = [];
  #ids = 0;

  async rooms() {
    return [...this.roomList];
  }
  async users() {
    return [...this.people];
  }
  async members(roomId: string) {
    const list = this.memberLists.get(roomId);
    if (list === undefined) throw new ParleyClientError("not_a_member");
    return [...list];
  }
  async trust(userId: string) {
    return this.trustStates.get(userId) ?? "unverified";
  }
  async send(roomId: string, content: unknown, options: { messageId?: string; sentAt?: number } = {}) {
    const outcome = this.sendOutcomes.shift() ?? "ok";
    if (outcome !== "ok") throw outcome;
    this.sent.push({ roomId, text: typeof content === "string" ? content : JSON.stringify(content) });
    this.contents.push({ roomId, content: content as Content });
    this.#ids += 1;
    const messageId = options.messageId ?? `${this.#ids}`.padStart(32, "0");
    return { id: `m${this.#ids}`, ts: 5_000 + this.#ids, messageId, sentAt: options.sentAt ?? 0 };
  }
  /** What the SDK knows of each own message's delivery (RCPT-2), as the test sets it. */
  deliveries = new Map<string, DeliveryEvent>();
  reads: { roomId: string; from: string; messageId: string }[] = [];
  readReceipts = true;
  delivery(messageId: string) {
    const d = this.deliveries.get(messageId);
    return d === undefined ? undefined : { ...d, readBy: this.readReceipts ? d.readBy : [] };
  }
  /** Sets a message's delivery state and emits it, as a receipt would. */
  deliver(d: DeliveryEvent): void {
    this.deliveries.set(d.messageId, d);
    this.emit("delivery", this.delivery(d.messageId)!);
  }
  markRead(roomId: string, messages: readonly { from: string; messageId: string }[]) {
    if (!this.readReceipts) return;
    for (const m of messages) this.reads.push({ roomId, ...m });
  }
  async setReadReceipts(on: boolean) {
    this.readReceipts = on;
  }
  typing(roomId: string, active: boolean) {
    this.typingSent.push([roomId, active]);
  }
  async createRoom(name: string) {
    const r = room("NEWRM1", name);
    this.roomList.push(r);
    this.memberLists.set(r.id, [member(ALICE)]);
    return r;
  }
  async join(roomId: string, passphrase?: string) {
    this.joined.push({ roomId, passphrase });
    if (roomId === "GONE01") throw new ParleyClientError("room_not_found");
    const r =
      this.roomList.find((x) => x.id === roomId) ??
      this.directory.find((x) => x.id === roomId) ??
      room(roomId, "joined");
    if (!this.roomList.includes(r)) this.roomList.push(r);
    return r;
  }
  async leave(roomId: string) {
    this.roomList = this.roomList.filter((r) => r.id !== roomId);
    this.memberLists.delete(roomId);
  }
  async invite(roomId: string, userId: string) {
    const u = this.people.find((p) => p.id === userId);
    if (u !== undefined) this.memberLists.get(roomId)?.push(member(u));
  }
  async openDirect(userId: string) {
    const r = room(`D${userId.slice(2, 7).toUpperCase()}`, "", "direct");
    if (!this.roomList.some((x) => x.id === r.id)) this.roomList.push(r);
    const u = this.people.find((p) => p.id === userId)!;
    this.memberLists.set(r.id, [member(ALICE), member(u)]);
    return r;
  }
  async remove(roomId: string, userId: string) {
    const list = this.memberLists.get(roomId);
    if (list !== undefined)
      this.memberLists.set(
        roomId,
        list.filter((m) => m.userId !== userId),
      );
  }
  banned: { roomId: string; userId: string }[] = [];
  async ban(roomId: string, userId: string) {
    await this.remove(roomId, userId);
    this.banned.push({ roomId, userId });
  }
  async unban(roomId: string, userId: string) {
    this.banned = this.banned.filter((b) => b.roomId !== roomId || b.userId !== userId);
  }
  async bans(roomId: string) {
    return this.banned
      .filter((b) => b.roomId === roomId)
      .map((b) => ({ user: { id: b.userId, username: b.userId }, by: null, ts: 0 }));
  }
  blocks: string[] = [];
  async block(userId: string) {
    this.blocks.push(userId);
  }
  async unblock(userId: string) {
    this.blocks = this.blocks.filter((b) => b !== userId);
  }
  async blocked() {
    return this.blocks.map((id) => ({ id, username: id, since: 0 }));
  }
  /** The public directory, as the test sets it. */
  directory: RoomView[] = [];
  joined: { roomId: string; passphrase: string | undefined }[] = [];
  async discoverRooms() {
    return { rooms: [...this.directory] };
  }
  async findPublicRoom(name: string) {
    const found = this.directory.filter((r) => r.name.toLowerCase() === name.toLowerCase());
    if (found.length > 1) throw new ParleyClientError("ambiguous_room_name");
    return found[0];
  }
  async updateRoom(roomId: string, settings: { name?: string }) {
    const r = this.roomList.find((x) => x.id === roomId)!;
    const next = { ...r, ...(settings.name !== undefined ? { name: settings.name } : {}) };
    this.roomList = this.roomList.map((x) => (x.id === roomId ? next : x));
    return next;
  }
  async setRole() {}
  pending: { room: RoomView; by: { id: string; username: string }; ts: number }[] = [];
  declined: string[] = [];
  followed: { id: string; username: string }[] = [];
  async subscribe(userId: string) {
    const u = this.people.find((p) => p.id === userId);
    if (u === undefined) throw new ParleyClientError("user_not_found");
    if (!this.followed.some((f) => f.id === userId)) this.followed.push({ id: u.id, username: u.username });
  }
  async unsubscribe(userId: string) {
    this.followed = this.followed.filter((f) => f.id !== userId);
  }
  async subscriptions() {
    return [...this.followed];
  }
  async invitations() {
    return [...this.pending];
  }
  async decline(roomId: string) {
    this.declined.push(roomId);
  }
  async deleteRoom(roomId: string) {
    await this.leave(roomId);
  }
  async changePassword() {}
  async createRecoveryCodes(): Promise<string[]> {
    return [];
  }
  async twoFactorStatus(): Promise<TotpStatus> {
    return { enabled: false, required: false, recoveryCodesLeft: 0 };
  }

  async recoveryCodesLeft(): Promise<number> {
    return 0;
  }
  readonly admin = new AdminApi(async () => {
    throw new Error("no admin API in this fake");
  });
  async markVerified(userId: string) {
    this.trustStates.set(userId, "verified");
  }
  async identityStatus(): Promise<"ready"> {
    return "ready";
  }
  async startLink(): Promise<never> {
    throw new Error("not in this fake");
  }
  async linkDevice(): Promise<never> {
    throw new Error("not in this fake");
  }
  async resetIdentity() {}
  async devices() {
    return [];
  }
  async acceptKeyChange(userId: string) {
    this.trustStates.set(userId, "unverified");
  }
  /** The fake blob store: file id -> plaintext. */
  blobs = new Map<string, Uint8Array>();
  deleted: string[] = [];
  filesOn = true;
  async fileLimits() {
    return {
      enabled: this.filesOn,
      maxBytes: 1000,
      ttlSeconds: 60,
      types: ["image/*", "text/plain"],
      quotaBytes: 10_000,
    };
  }
  async checkFile(file: { size: number; type: string }) {
    if (file.size > 1000) throw new ParleyClientError("file_too_large");
    if (!/^(image\/|text\/plain)/.test(file.type)) throw new ParleyClientError("file_type_refused");
  }
  async uploadFile(_roomId: string, source: FileSource, meta: FileMeta, options: TransferOptions = {}) {
    const bytes = await source.read(0, source.size);
    if (options.signal?.aborted) throw new ParleyClientError("transfer_cancelled");
    options.onProgress?.({ done: source.size, total: source.size });
    const id = `${this.blobs.size + 1}`.padStart(32, "f");
    this.blobs.set(id, bytes.slice());
    return fileDescriptor(id, meta, source.size);
  }
  async downloadFile(file: FileDescriptor, sink: FileSink, options: TransferOptions = {}) {
    const bytes = this.blobs.get(file.id);
    if (bytes === undefined) throw new ParleyClientError("file_expired");
    options.onProgress?.({ done: bytes.length, total: bytes.length });
    await sink.write(bytes);
  }
  async deleteFile(id: string) {
    this.deleted.push(id);
    this.blobs.delete(id);
  }

  connectNow(): void {
    this.status = { state: "connected", server: "https://parley.test" };
    this.emit("status", this.status);
  }
}

function fileDescriptor(id: string, meta: FileMeta, size: number): FileDescriptor {
  return {
    id,
    key: `${"A".repeat(43)}=`,
    scheme: "xchacha20poly1305-64k-v1",
    sha256: "0".repeat(64),
    name: meta.name,
    type: meta.type,
    size,
    expiresAt: 90_000,
    ...(meta.viewOnce === true ? { viewOnce: true as const } : {}),
  };
}

const message = (roomId: string, from: { id: string; username: string }, id: string, text = "hi") =>
  ({
    roomId,
    id,
    ts: 1_000,
    from: { userId: from.id, username: from.username, deviceId: "d1" },
    content: { type: "text", text },
    text,
    trust: "unverified",
    epoch: 1,
  }) as MessageEvent;

/**
 * Waits until the model's queued work (events, refreshes, the outbox) has settled: the fake
 * answers through promises only, so everything is done once the microtask queue is empty.
 */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function setUp(options: ChatModelOptions = {}) {
  const client = new FakeClient();
  client.people = [
    { ...ALICE, online: true },
    { ...BOB, online: true },
    { ...CAROL, online: false },
  ];
  client.roomList = [room("TEAM01", "team"), room("DBOB01", "", "direct")];
  client.memberLists.set("TEAM01", [member(ALICE), member(BOB), member(CAROL, false)]);
  client.memberLists.set("DBOB01", [member(ALICE), member(BOB)]);
  const model = new ChatModel(client, options);
  const changes: ChatChange[] = [];
  model.subscribe((c) => changes.push(c));
  return { client, model, changes };
}

async function connected(options: ChatModelOptions = {}) {
  const s = setUp(options);
  s.client.connectNow();
  await settle();
  return s;
}

describe("ChatModel", () => {
  it("lists the rooms when the server does, without waiting for the people list (issue 20)", async () => {
    const { client, model } = setUp();
    let answer: (people: UserWithPresence[]) => void = () => undefined;
    client.users = () => new Promise((resolve) => (answer = resolve));
    client.connectNow();
    await settle();
    assert.deepEqual(
      model.snapshot.rooms.map((r) => r.id),
      ["TEAM01", "DBOB01"],
    );
    assert.deepEqual(model.snapshot.people, []);
    answer(client.people);
    await settle();
    assert.equal(model.snapshot.people.length, 3);
    model.dispose();
  });

  it("loads rooms, people, members and each member's trust when the client connects", async () => {
    const { client, model } = setUp();
    client.trustStates.set(BOB.id, "verified");
    assert.deepEqual(model.snapshot.rooms, []);
    client.connectNow();
    await settle();
    const s = model.snapshot;
    assert.deepEqual(
      s.rooms.map((r) => r.id),
      ["TEAM01", "DBOB01"],
    );
    assert.equal(s.people.length, 3);
    assert.deepEqual(
      s.members.TEAM01?.map((m) => m.username),
      ["alice", "bob", "Carol"],
    );
    assert.deepEqual(s.trust, { [BOB.id]: "verified", [CAROL.id]: "unverified" });
    assert.equal(s.me?.id, ALICE.id);
  });

  it("gives every change a new snapshot and leaves the old one as it was", async () => {
    const { client, model } = await connected();
    const before = model.snapshot;
    client.emit("presence", { userId: CAROL.id, username: CAROL.username, online: true });
    assert.notEqual(model.snapshot, before);
    assert.equal(before.people.find((p) => p.id === CAROL.id)?.online, false);
    assert.equal(model.snapshot.people.find((p) => p.id === CAROL.id)?.online, true);
  });

  describe("this server (POLICY-2, AUTH-13)", () => {
    /** A policy watch whose checks the test answers: each check() publishes the next state. */
    function fakeWatch() {
      const listeners = new Set<(state: ServerPolicyState, warning: boolean) => void>();
      let state: ServerPolicyState = { check: undefined, error: undefined };
      const next: [PolicyCheck, boolean][] = [];
      const watch = {
        checks: 0,
        accepted: 0,
        next,
        get state() {
          return state;
        },
        subscribe(l: (state: ServerPolicyState, warning: boolean) => void) {
          listeners.add(l);
          return () => listeners.delete(l);
        },
        async check() {
          watch.checks += 1;
          const [check, warning] = next.shift() ?? [state.check, false];
          state = { check, error: undefined };
          for (const l of listeners) l(state, warning);
          return check;
        },
        async accept() {
          watch.accepted += 1;
        },
      };
      return watch;
    }
    const policy = { statement: {}, text: "{}", keyFingerprint: "AA" } as unknown as VerifiedPolicy;
    const changed: PolicyCheck = {
      state: "changed",
      policy,
      keyChanged: false,
      changes: [{ part: "messages", before: "never stored", after: "kept" }],
      pinnedKeyFingerprint: "AA",
    };

    it("checks the policy on every connection and tells of a change once, with this account's TOTP", async () => {
      const watch = fakeWatch();
      watch.next.push([{ state: "unchanged", policy }, false]);
      const { client, model, changes } = await connected({
        serverPolicy: watch as unknown as ServerPolicyWatch,
      });
      assert.equal(watch.checks, 1);
      assert.equal(model.snapshot.server.policy?.state, "unchanged");
      assert.deepEqual(model.snapshot.server.totp, { enabled: false, required: false, recoveryCodesLeft: 0 });
      assert.equal(changes.filter((c) => c.type === "policy_changed").length, 0);

      // The server restarts with the offline queue on: the reconnect shows it, no reload needed.
      watch.next.push([changed, true]);
      client.emit("status", { state: "reconnecting", reason: "closed", inMs: 500 } as ConnectionStatus);
      client.connectNow();
      await settle();
      assert.equal(watch.checks, 2);
      assert.equal(model.snapshot.server.policy?.state, "changed");
      const told = changes.filter((c) => c.type === "policy_changed");
      assert.equal(told.length, 1);
      client.emit("status", { state: "reconnecting", reason: "closed", inMs: 500 } as ConnectionStatus);
      client.connectNow();
      await settle();
      assert.equal(changes.filter((c) => c.type === "policy_changed").length, 1, "once per change");
      await model.acceptServerPolicy();
      assert.equal(watch.accepted, 1);
    });

    it("stops following the watch once disposed", async () => {
      const watch = fakeWatch();
      const { model, changes } = await connected({ serverPolicy: watch as unknown as ServerPolicyWatch });
      model.dispose();
      const before = changes.length;
      watch.next.push([changed, true]);
      await watch.check();
      assert.equal(changes.length, before);
    });
  });

  describe("direct conversations", () => {
    it("resolves the other person once, from the members", async () => {
      const { client, model } = await connected();
      assert.deepEqual(model.snapshot.peers.DBOB01, BOB);
      // A later members list that no longer has them (they left) does not rename the conversation.
      client.memberLists.set("DBOB01", [member(ALICE)]);
      await model.loadMembers("DBOB01");
      assert.deepEqual(model.snapshot.peers.DBOB01, BOB);
    });

    it("takes the other person from their first message when the members list does not name them", async () => {
      const { client, model } = setUp();
      client.memberLists.set("DBOB01", [member(ALICE)]);
      client.connectNow();
      await settle();
      assert.equal(model.snapshot.peers.DBOB01, undefined);
      client.emit("message", message("DBOB01", ALICE, "m0", "from my other device"));
      client.emit("message", message("DBOB01", BOB, "m1"));
      await settle();
      assert.deepEqual(model.snapshot.peers.DBOB01, BOB);
    });

    it("learns a conversation someone opened, with its person, before its first message is told", async () => {
      const { client, model, changes } = await connected();
      const r = room("DCARO1", "", "direct");
      client.roomList.push(r);
      client.memberLists.set("DCARO1", [member(ALICE), member(CAROL)]);
      client.emit("room", r);
      client.emit("message", message("DCARO1", CAROL, "m7"));
      await settle();
      const told = changes.filter((c) => c.type === "conversation" || c.type === "message");
      assert.deepEqual(
        told.map((c) => c.type),
        ["conversation", "message"],
      );
      assert.deepEqual(told[0], { type: "conversation", room: r, isNew: true });
      assert.deepEqual(model.snapshot.peers.DCARO1, CAROL);
    });

    it("reads the rooms again for a message in a conversation it does not know yet", async () => {
      const { client, model } = await connected();
      client.roomList.push(room("DCARO1", "", "direct"));
      client.memberLists.set("DCARO1", [member(ALICE), member(CAROL)]);
      client.emit("message", message("DCARO1", CAROL, "m9"));
      await settle();
      assert.ok(model.room("dcaro1"));
      assert.deepEqual(model.snapshot.peers.DCARO1, CAROL);
      assert.equal(model.snapshot.messages.DCARO1?.length, 1);
    });

    it("knows the person of a conversation this user opens", async () => {
      const { model } = await connected();
      const r = await model.openDirect(CAROL.id);
      assert.deepEqual(model.snapshot.peers[r.id], CAROL);
      assert.ok(model.snapshot.rooms.some((x) => x.id === r.id));
    });
  });

  describe("unread counts", () => {
    it("counts messages in conversations the user is not looking at, and clears on markRead", async () => {
      let open: string | undefined = "TEAM01";
      const { client, model } = await connected({ isRead: (roomId) => roomId === open });
      client.emit("message", message("TEAM01", BOB, "m1"));
      client.emit("message", message("DBOB01", BOB, "m2"));
      client.emit("message", message("DBOB01", BOB, "m3"));
      await settle();
      assert.deepEqual(model.snapshot.unread, { DBOB01: 2 });
      open = undefined;
      client.emit("message", message("TEAM01", BOB, "m4"));
      await settle();
      assert.deepEqual(model.snapshot.unread, { DBOB01: 2, TEAM01: 1 });
      model.markRead("DBOB01");
      assert.deepEqual(model.snapshot.unread, { DBOB01: 0, TEAM01: 1 });
    });

    it("counts a message once when the same id arrives twice", async () => {
      const { client, model } = await connected();
      client.emit("message", message("TEAM01", BOB, "m1"));
      client.emit("message", message("TEAM01", BOB, "m1"));
      await settle();
      assert.equal(model.snapshot.unread.TEAM01, 1);
      assert.equal(model.snapshot.messages.TEAM01?.length, 1);
    });

    it("forgets a room's count when the user is removed from it", async () => {
      const { client, model, changes } = await connected();
      client.emit("message", message("TEAM01", BOB, "m1"));
      client.emit("membership", {
        source: "room",
        roomId: "TEAM01",
        event: "removed",
        userId: ALICE.id,
        username: ALICE.username,
      });
      await settle();
      assert.equal(model.snapshot.unread.TEAM01, undefined);
      assert.equal(model.room("TEAM01"), undefined);
      assert.ok(changes.some((c) => c.type === "membership" && c.event.event === "removed"));
    });

    it("says each room event as a system line, kept in the history (ROOM-9)", async () => {
      const saved = new Map<string, readonly ChatMessage[]>();
      const history: ChatHistory = {
        loadAll: async () => ({}),
        save: (roomId, list) => saved.set(roomId, list),
        saveNow: async (roomId, list) => {
          saved.set(roomId, list);
        },
        remove: async () => {},
      };
      const { client, model } = await connected({ history });
      const event = (e: Record<string, unknown>) =>
        client.emit("membership", { source: "room", roomId: "TEAM01", ...e } as never);
      event({ event: "invited", userId: "u-dave", username: "dave", by: BOB, ts: 10 });
      event({ event: "joined", userId: CAROL.id, username: CAROL.username, ts: 11 });
      event({ event: "removed", userId: BOB.id, username: BOB.username, by: ALICE, ts: 12 });
      event({
        event: "updated",
        userId: ALICE.id,
        username: ALICE.username,
        room: { ...room("TEAM01", "ops"), topic: "db", maxMembers: 5 },
        changes: ["name", "topic", "cap"],
        ts: 13,
      });
      event({
        event: "role",
        userId: CAROL.id,
        username: CAROL.username,
        by: ALICE,
        role: "moderator",
        ts: 14,
      });
      event({ event: "declined", userId: "u-dave", username: "dave", by: BOB, ts: 15 });
      await settle();
      const lines = (model.snapshot.messages.TEAM01 ?? []).filter((m) => m.system).map((m) => m.text);
      assert.deepEqual(lines, [
        "bob invited dave",
        "Carol joined",
        "bob was removed by alice",
        "alice renamed the room to ops",
        'alice set the topic to "db"',
        "alice set the member cap to 5",
        "alice made Carol a moderator",
        "dave declined bob's invitation",
      ]);
      assert.equal(model.room("TEAM01")?.name, "ops", "the room itself follows the update");
      assert.equal(model.snapshot.unread.TEAM01 ?? 0, 0, "system lines are not unread messages");
      assert.equal(saved.get("TEAM01")?.filter((m) => m.system).length, 8);
    });

    it("joins a public room by its unique name, and by id when the text is an id", async () => {
      const { client, model } = await connected();
      client.directory = [{ ...room("PUB234", "Lobby"), memberCount: 3 }];
      const joined = await model.join("lobby", "pass");
      assert.equal(joined.id, "PUB234");
      assert.deepEqual(client.joined.at(-1), { roomId: "PUB234", passphrase: "pass" });
      await model.join("PUB234");
      assert.equal(client.joined.at(-1)?.roomId, "PUB234");
      await assert.rejects(
        model.join("nowhere"),
        (e: unknown) => (e as ParleyClientError).code === "room_not_found",
      );
      client.directory.push(room("PUB567", "lobby"));
      await assert.rejects(
        model.join("Lobby"),
        (e: unknown) => (e as ParleyClientError).code === "ambiguous_room_name",
      );
    });

    it("lists pending invitations on connecting and declines one on the server", async () => {
      const { client, model } = setUp();
      client.pending = [{ room: room("PRIV01", "secret"), by: BOB, ts: 1 }];
      client.connectNow();
      await settle();
      assert.deepEqual(
        model.snapshot.invitations.map((i) => [i.room.id, i.by.username]),
        [["PRIV01", "bob"]],
      );
      await model.declineInvitation("priv01");
      assert.deepEqual(model.snapshot.invitations, []);
      assert.deepEqual(client.declined, ["PRIV01"]);
    });

    it("drops a room an admin deleted, whoever the event names (ROOM-13)", async () => {
      const { client, model, changes } = await connected();
      client.emit("message", message("TEAM01", BOB, "m1"));
      client.emit("membership", {
        source: "room",
        roomId: "TEAM01",
        event: "deleted",
        userId: "admin-id",
        username: "root",
      });
      await settle();
      assert.equal(model.room("TEAM01"), undefined);
      assert.equal(model.snapshot.unread.TEAM01, undefined);
      assert.ok(changes.some((c) => c.type === "membership" && c.event.event === "deleted"));
    });
  });

  describe("delivery (RCPT-2, RCPT-3)", () => {
    const dev = (userId: string, deviceId: string) => ({ userId, deviceId });
    const targets = [dev(BOB.id, "bob-laptop"), dev(BOB.id, "bob-phone")];
    let serverIds = 0;
    const incoming = (
      roomId: string,
      text: string,
      from: { id: string; username: string },
      stamp: { messageId: string; sentAt: number },
    ): MessageEvent => ({ ...message(roomId, from, `s${++serverIds}`, text), ...stamp });

    it("moves sent -> delivered only once every device has it, then read, never back", async () => {
      const { client, model } = await connected();
      const done = await model.send("TEAM01", "hello");
      const at = () => model.snapshot.messages.TEAM01?.[0];
      const base = { roomId: "TEAM01", messageId: done.key, targets };
      client.deliver({ ...base, delivered: [targets[0]!], readBy: [] });
      assert.equal(at()?.status, "sent", "one of bob's two devices is not delivered");
      assert.deepEqual(at()?.progress, { delivered: 1, of: 2 });
      const info = model.deliveryInfo(done.key);
      assert.deepEqual(info?.waiting, ["bob (device bob-ph)"]);
      client.deliver({ ...base, delivered: targets, readBy: [] });
      assert.equal(at()?.status, "delivered");
      client.deliver({ ...base, delivered: targets, readBy: [BOB.id] });
      assert.equal(at()?.status, "read");
      client.deliver({ ...base, delivered: [targets[0]!], readBy: [] });
      assert.equal(at()?.status, "read", "a late receipt does not move it back");
    });

    it("shows nobody's reading and sends no read receipts when sharing is off", async () => {
      const { client, model } = await connected();
      await model.setReadReceipts(false);
      const done = await model.send("TEAM01", "hello");
      client.deliver({
        roomId: "TEAM01",
        messageId: done.key,
        targets,
        delivered: targets,
        readBy: [BOB.id],
      });
      assert.equal(model.snapshot.messages.TEAM01?.[0]?.status, "delivered");
      client.emit("message", incoming("TEAM01", "hi", BOB, { messageId: "b".repeat(32), sentAt: 2_000 }));
      await settle();
      model.markRead("TEAM01");
      assert.deepEqual(client.reads, []);
    });

    it("sends one read receipt per message seen, to its sender", async () => {
      const { client, model } = await connected();
      client.emit("message", incoming("TEAM01", "hi", BOB, { messageId: "b".repeat(32), sentAt: 2_000 }));
      await settle();
      model.markRead("TEAM01");
      model.markRead("TEAM01");
      assert.deepEqual(client.reads, [{ roomId: "TEAM01", from: BOB.id, messageId: "b".repeat(32) }]);
    });

    it("drops a copy by (sender, id) and places messages by the time they were composed", async () => {
      const { client, model } = await connected();
      const later = incoming("TEAM01", "second", BOB, { messageId: "2".repeat(32), sentAt: 3_000 });
      const earlier = incoming("TEAM01", "first", BOB, { messageId: "1".repeat(32), sentAt: 2_000 });
      client.emit("message", later);
      client.emit("message", earlier);
      client.emit("message", { ...earlier, id: "another-server-id" });
      await settle();
      assert.deepEqual(
        model.snapshot.messages.TEAM01?.map((m) => m.text),
        ["first", "second"],
      );
    });
  });

  describe("outbox", () => {
    it("shows a message as sending, then sent under the id it was composed with", async () => {
      const { client, model } = await connected();
      const sent = model.send("TEAM01", "hello");
      const [local] = model.snapshot.messages.TEAM01 ?? [];
      assert.equal(local?.status, "sending");
      assert.equal(local?.own, true);
      assert.match(local?.key ?? "", /^[0-9a-f]{32}$/);
      const done = await sent;
      assert.equal(done.key, local?.key);
      assert.equal(done.status, "sent");
      assert.deepEqual(model.snapshot.messages.TEAM01, [done]);
      assert.deepEqual(client.sent, [{ roomId: "TEAM01", text: "hello" }]);
    });

    it("holds messages while reconnecting and sends them in order once connected", async () => {
      const { client, model } = await connected();
      client.emit("status", { state: "reconnecting", reason: "closed", inMs: 500 } as ConnectionStatus);
      const first = model.send("TEAM01", "one");
      const second = model.send("TEAM01", "two");
      await settle();
      assert.equal(client.sent.length, 0);
      client.connectNow();
      await Promise.all([first, second]);
      assert.deepEqual(
        client.sent.map((s) => s.text),
        ["one", "two"],
      );
    });

    it("fails a message the server refused, says so once, and sends it again on retry", async () => {
      const { client, model, changes } = await connected();
      const refusal = new ParleyClientError("rate_limited");
      client.sendOutcomes = [refusal];
      await assert.rejects(model.send("TEAM01", "hello"), refusal);
      const [failed] = model.snapshot.messages.TEAM01 ?? [];
      assert.equal(failed?.status, "failed");
      const told = changes.filter((c) => c.type === "failed");
      assert.deepEqual(told, [{ type: "failed", what: "send", error: refusal, key: failed?.key }]);
      const again = model.retry(failed!.key);
      assert.equal(model.snapshot.messages.TEAM01?.[0]?.status, "sending");
      const done = await again;
      assert.equal(done?.status, "sent");
      assert.equal(model.snapshot.messages.TEAM01?.length, 1);
      assert.equal(model.retry(done!.key), undefined, "only a failed message can be retried");
    });

    it("fails every waiting message when the client goes offline for good", async () => {
      const { client, model } = await connected();
      client.emit("status", { state: "reconnecting", reason: "closed", inMs: 500 } as ConnectionStatus);
      const waiting = model.send("TEAM01", "one");
      client.emit("status", { state: "offline", reason: "signed_out" });
      await assert.rejects(waiting, (e) => e instanceof ParleyClientError && e.code === "not_connected");
      assert.equal(model.snapshot.messages.TEAM01?.[0]?.status, "failed");
    });

    it("without holding, hands a message to the client at once even while reconnecting", async () => {
      const { client, model } = await connected({ holdWhileOffline: false });
      client.emit("status", { state: "reconnecting", reason: "closed", inMs: 500 } as ConnectionStatus);
      const lost = new ParleyClientError("not_connected");
      client.sendOutcomes = [lost];
      await assert.rejects(model.send("TEAM01", "one"), lost);
    });
  });

  describe("presence", () => {
    it("updates people and every room's members, and adds someone new", async () => {
      const { client, model, changes } = await connected();
      client.emit("presence", { userId: BOB.id, username: BOB.username, online: false });
      assert.equal(model.snapshot.people.find((p) => p.id === BOB.id)?.online, false);
      assert.equal(model.snapshot.members.TEAM01?.find((m) => m.userId === BOB.id)?.online, false);
      assert.equal(model.snapshot.members.DBOB01?.find((m) => m.userId === BOB.id)?.online, false);
      client.emit("presence", { userId: "u-dave", username: "dave", online: true });
      assert.deepEqual(model.snapshot.people.at(-1), { id: "u-dave", username: "dave", online: true });
      assert.equal(changes.filter((c) => c.type === "presence").length, 2);
    });
  });

  describe("typing", () => {
    beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
    afterEach(() => mock.timers.reset());

    it("shows who types until their message arrives, and never this user", async () => {
      const { client, model } = setUp();
      client.emit("typing", { roomId: "TEAM01", userId: BOB.id, username: "bob", active: true });
      client.emit("typing", { roomId: "TEAM01", userId: ALICE.id, username: "alice", active: true });
      assert.deepEqual(model.snapshot.typing.TEAM01, [{ userId: BOB.id, username: "bob" }]);
      client.emit("message", message("TEAM01", BOB, "m1"));
      await settle();
      assert.deepEqual(model.snapshot.typing.TEAM01, []);
    });

    it("lets an indicator lapse when it is not refreshed", () => {
      const { client, model } = setUp();
      client.emit("typing", { roomId: "TEAM01", userId: BOB.id, username: "bob", active: true });
      mock.timers.tick(TYPING_SHOWN_MS);
      assert.deepEqual(model.snapshot.typing.TEAM01, []);
    });

    it("tells the room this user types only while connected, and stops when a message is sent", () => {
      const { client, model } = setUp();
      model.typed("TEAM01");
      assert.deepEqual(client.typingSent, []);
      client.status = { state: "connected", server: "https://parley.test" };
      client.emit("status", client.status);
      model.typed("TEAM01");
      void model.send("TEAM01", "done").catch(() => {});
      assert.deepEqual(client.typingSent, [
        ["TEAM01", true],
        ["TEAM01", false],
      ]);
    });
  });

  describe("trust", () => {
    it("marks a person changed when their verified identity changes, verified after verification, and back after accepting", async () => {
      const { client, model, changes } = await connected();
      const change = {
        userId: BOB.id,
        deviceId: "d2",
        identityKey: new Uint8Array(32).fill(2),
        previousKey: new Uint8Array(32).fill(1),
        wasVerified: true,
      };
      client.emit("identity_changed", change);
      assert.equal(model.snapshot.trust[BOB.id], "changed");
      assert.ok(changes.some((c) => c.type === "identity_changed" && c.change === change));
      await model.acceptKeyChange(BOB.id);
      assert.equal(model.snapshot.trust[BOB.id], "unverified");
      await model.markVerified(BOB.id);
      assert.equal(model.snapshot.trust[BOB.id], "verified");
    });

    it("shows an unverified person's identity change as a notice state, and a new device as news only", async () => {
      const { client, model, changes } = await connected();
      const before = model.snapshot.trust[BOB.id];
      client.emit("device_added", { userId: BOB.id, deviceId: "phone" });
      assert.equal(model.snapshot.trust[BOB.id], before, "a new device changes no trust");
      assert.ok(
        changes.some((c) => c.type === "device_added" && c.userId === BOB.id && c.deviceId === "phone"),
      );
      client.emit("identity_changed", {
        userId: BOB.id,
        deviceId: "d3",
        identityKey: new Uint8Array(32).fill(3),
        previousKey: new Uint8Array(32).fill(1),
        wasVerified: false,
      });
      assert.equal(model.snapshot.trust[BOB.id], "changed_unverified");
    });
  });

  describe("conversations", () => {
    it("creates, joins and leaves rooms; a room joined ends its invitation", async () => {
      const { client, model } = await connected();
      client.roomList.push(room("QPS234", "ops"));
      client.memberLists.set("QPS234", [member(BOB)]);
      client.emit("invited", { room: room("QPS234", "ops"), by: BOB });
      await settle();
      assert.equal(model.snapshot.invitations.length, 1);
      await model.join("QPS234");
      assert.equal(model.snapshot.invitations.length, 0);
      const created = await model.createRoom("lab");
      assert.ok(model.room(created.id));
      await model.leave("qps234");
      assert.equal(model.room("QPS234"), undefined);
    });

    it("finds a user by name as the server compares names, asking the server when unknown", async () => {
      const { client, model } = await connected();
      assert.deepEqual(await model.findUser("carol"), CAROL);
      client.people.push({ id: "u-dave", username: "Dave", online: false });
      assert.deepEqual(await model.findUser(" DAVE "), { id: "u-dave", username: "Dave" });
      assert.equal(await model.findUser("nobody"), undefined);
    });

    it("invites by user id and reads the room's members again", async () => {
      const { model } = await connected();
      const created = await model.createRoom("lab");
      await model.invite(created.id, BOB.id);
      assert.deepEqual(
        model.snapshot.members[created.id]?.map((m) => m.username),
        ["alice", "bob"],
      );
    });
  });

  describe("history", () => {
    class MemoryHistory implements ChatHistory {
      kept = new Map<string, readonly ChatMessage[]>();
      failNext = false;
      async loadAll() {
        return Object.fromEntries(this.kept);
      }
      save(roomId: string, list: readonly ChatMessage[]) {
        this.kept.set(
          roomId,
          list.filter((m) => m.status !== "sending"),
        );
      }
      async saveNow(roomId: string, list: readonly ChatMessage[]) {
        if (this.failNext) {
          this.failNext = false;
          throw new Error("disk full");
        }
        this.save(roomId, list);
      }
      async remove(roomId: string) {
        this.kept.delete(roomId);
      }
    }

    it("keeps a received message before it is shown, and restores it in a new model", async () => {
      const history = new MemoryHistory();
      const { client, model } = await connected({ history });
      client.emit("message", message("TEAM01", BOB, "m1", "kept"));
      await settle();
      assert.equal(history.kept.get("TEAM01")?.[0]?.text, "kept");
      const next = new ChatModel(client, { history });
      await next.restoreHistory();
      assert.equal(next.snapshot.messages.TEAM01?.[0]?.text, "kept");
      model.dispose();
      next.dispose();
    });

    it("lists the conversations it kept before it is connected; the server's list replaces them (issue 20)", async () => {
      const history = new History(new MemoryStore());
      const { client, model } = await connected({ history });
      await history.flush();
      model.dispose();
      const later = new FakeClient();
      later.roomList = [room("TEAM01", "team")];
      later.memberLists.set("TEAM01", [member(ALICE), member(BOB)]);
      const next = new ChatModel(later, { history });
      await next.restoreHistory();
      assert.equal(next.snapshot.connection.state, "offline");
      assert.deepEqual(
        next.snapshot.rooms.map((r) => r.id),
        client.roomList.map((r) => r.id),
      );
      assert.equal(next.snapshot.peers.DBOB01?.username, "bob");
      later.connectNow();
      await settle();
      assert.deepEqual(
        next.snapshot.rooms.map((r) => r.id),
        ["TEAM01"],
      );
      assert.equal(next.snapshot.peers.DBOB01, undefined);
      next.dispose();
    });

    it("keeps the server's list when the history is read after it answered", async () => {
      const history = new History(new MemoryStore());
      history.saveRooms({ unread: {}, disappearing: {}, rooms: [room("GONE01", "old")] });
      await history.flush();
      const { model } = await connected({ history });
      await model.restoreHistory();
      assert.deepEqual(
        model.snapshot.rooms.map((r) => r.id),
        ["TEAM01", "DBOB01"],
      );
      model.dispose();
    });

    it("keeps device lines once each, and restores them in a new model (issue 14)", async () => {
      const history = new History(new MemoryStore());
      const { client, model } = await connected({ history });
      client.emit("device_added", { userId: BOB.id, deviceId: "phone" });
      client.emit("device_added", { userId: BOB.id, deviceId: "phone" });
      client.emit("device_removed", { userId: BOB.id, deviceId: "phone" });
      assert.deepEqual(
        model.snapshot.deviceNotes.map((n) => `${n.userId} ${n.kind} ${n.deviceId}`),
        [`${BOB.id} added phone`, `${BOB.id} removed phone`],
      );
      await history.flush();
      const next = new ChatModel(client, { history });
      await next.restoreHistory();
      assert.deepEqual(next.snapshot.deviceNotes, model.snapshot.deviceNotes);
      model.dispose();
      next.dispose();
    });

    it("shows a message it could not keep, and says so", async () => {
      const history = new MemoryHistory();
      history.failNext = true;
      const { client, model, changes } = await connected({ history });
      client.emit("message", message("TEAM01", BOB, "m1"));
      await settle();
      assert.equal(model.snapshot.messages.TEAM01?.length, 1);
      assert.ok(changes.some((c) => c.type === "failed" && c.what === "history"));
    });

    it("saves every conversation when history is turned on, and removes a room's when it is left", async () => {
      const history = new MemoryHistory();
      const { client, model } = await connected();
      client.emit("message", message("TEAM01", BOB, "m1"));
      await settle();
      model.keepHistory(history);
      assert.equal(history.kept.get("TEAM01")?.length, 1);
      await model.leave("TEAM01");
      assert.equal(history.kept.has("TEAM01"), false);
      assert.equal(model.snapshot.messages.TEAM01, undefined);
    });
  });

  describe("reset", () => {
    it("changes nothing after dispose: events are ignored and waiting messages fail as closed", async () => {
      const { client, model, changes } = await connected();
      client.emit("status", { state: "reconnecting", reason: "closed", inMs: 500 } as ConnectionStatus);
      const waiting = model.send("TEAM01", "never");
      const last = model.snapshot;
      const told = changes.length;
      model.dispose();
      await assert.rejects(waiting, (e) => e instanceof ParleyClientError && e.code === "closed");
      client.emit("message", message("TEAM01", BOB, "m1"));
      client.emit("presence", { userId: BOB.id, username: "bob", online: false });
      client.connectNow();
      await settle();
      assert.equal(model.snapshot, last);
      assert.equal(changes.length, told);
      assert.equal(client.listenerCount("message"), 0);
      assert.deepEqual(client.sent, []);
    });

    it("withdraws this user's typing indicator when disposed", () => {
      const { client, model } = setUp();
      client.connectNow();
      model.typed("TEAM01");
      model.dispose();
      assert.deepEqual(client.typingSent, [
        ["TEAM01", true],
        ["TEAM01", false],
      ]);
    });
  });

  describe("files", () => {
    const fileMessage = (
      roomId: string,
      from: { id: string; username: string },
      id: string,
      file: FileDescriptor,
    ) =>
      ({
        roomId,
        id,
        ts: 2_000,
        from: { userId: from.id, username: from.username, deviceId: "d2" },
        content: { file },
        text: undefined,
        trust: "unverified",
        epoch: 1,
        messageId: id.padStart(32, "0"),
        sentAt: 2_000,
      }) as MessageEvent;

    it("shows a file being sent at once, counts its upload, and sends its descriptor", async () => {
      const { client, model } = await connected();
      const sent = await model.sendFile("TEAM01", bytesSource(new Uint8Array(300)), {
        name: "shot.png",
        type: "image/png",
        width: 4,
        height: 3,
      });
      assert.equal(sent.status, "sent");
      assert.equal(sent.text, "");
      assert.deepEqual(
        { name: sent.attachment?.name, size: sent.attachment?.size, width: sent.attachment?.width },
        { name: "shot.png", size: 300, width: 4 },
      );
      assert.equal(sent.attachment?.file?.id.length, 32);
      assert.equal(model.snapshot.transfers[sent.key]?.state, "done");
      assert.equal(client.sent.length, 1);
    });

    it("refuses a file the server would refuse before showing or uploading anything", async () => {
      const { client, model } = await connected();
      await assert.rejects(
        model.sendFile("TEAM01", bytesSource(new Uint8Array(2000)), { name: "big.png", type: "image/png" }),
        (e) => e instanceof ParleyClientError && e.code === "file_too_large",
      );
      await assert.rejects(
        model.sendFile("TEAM01", bytesSource(new Uint8Array(2)), { name: "a.html", type: "text/html" }),
        (e) => e instanceof ParleyClientError && e.code === "file_type_refused",
      );
      assert.equal(model.snapshot.messages.TEAM01, undefined);
      assert.equal(client.blobs.size, 0);
    });

    it("fails a file whose announcement failed, and retry() sends it without uploading again", async () => {
      const { client, model } = await connected();
      client.sendOutcomes.push(new ParleyClientError("not_connected"));
      await assert.rejects(
        model.sendFile("TEAM01", bytesSource(new Uint8Array(5)), { name: "a.txt", type: "text/plain" }),
      );
      const failed = model.snapshot.messages.TEAM01?.[0];
      assert.equal(failed?.status, "failed");
      const again = await model.retry(failed!.key);
      assert.equal(again?.status, "sent");
      assert.equal(client.blobs.size, 1);
    });

    it("sends nothing when an upload is cancelled during its last part, and deletes the uploaded copy", async () => {
      const { client, model } = await connected();
      // Cancelled from the progress callback: the part is on the server, the upload is over.
      const stop = model.subscribe(() => {
        for (const [key, t] of Object.entries(model.snapshot.transfers))
          if (t.state === "running" && t.done > 0) model.cancelTransfer(key);
      });
      await assert.rejects(
        model.sendFile("TEAM01", bytesSource(new Uint8Array(300)), { name: "late.png", type: "image/png" }),
        (e) => e instanceof ParleyClientError && e.code === "transfer_cancelled",
      );
      stop();
      const key = model.snapshot.messages.TEAM01![0]!.key;
      assert.equal(model.snapshot.transfers[key]?.state, "cancelled");
      assert.equal(client.sent.length, 0);
      assert.equal(client.blobs.size, 0);
    });

    it("gives no file when a download is cancelled during its last part", async () => {
      const { client, model } = await connected();
      const file = await client.uploadFile("TEAM01", bytesSource(new Uint8Array([4, 5])), {
        name: "late.txt",
        type: "text/plain",
      });
      client.emit("message", fileMessage("TEAM01", BOB, "12", file));
      await settle();
      const key = model.snapshot.messages.TEAM01![0]!.key;
      const stop = model.subscribe(() => {
        const t = model.snapshot.transfers[key];
        if (t?.state === "running" && t.done > 0) model.cancelTransfer(key);
      });
      await assert.rejects(
        model.download(key, { write: () => undefined }),
        (e) => e instanceof ParleyClientError && e.code === "transfer_cancelled",
      );
      stop();
      assert.equal(model.snapshot.transfers[key]?.state, "cancelled");
    });

    it("shows a received file and downloads it into a sink, counting the bytes", async () => {
      const { client, model } = await connected();
      const bytes = new Uint8Array([1, 2, 3]);
      const file = await client.uploadFile("TEAM01", bytesSource(bytes), {
        name: "n.txt",
        type: "text/plain",
      });
      client.emit("message", fileMessage("TEAM01", BOB, "7", file));
      await settle();
      const m = model.snapshot.messages.TEAM01?.[0];
      assert.equal(m?.attachment?.name, "n.txt");
      const got: Uint8Array[] = [];
      await model.download(m!.key, { write: (b) => void got.push(b) });
      assert.deepEqual(got, [bytes]);
      assert.deepEqual(model.snapshot.transfers[m!.key], {
        roomId: "TEAM01",
        direction: "download",
        done: 3,
        total: 3,
        state: "done",
      });
    });

    it("records a failed download's code, such as an expired file", async () => {
      const { client, model } = await connected();
      const file = fileDescriptor("e".repeat(32), { name: "gone.txt", type: "text/plain" }, 4);
      client.emit("message", fileMessage("TEAM01", BOB, "8", file));
      await settle();
      const key = model.snapshot.messages.TEAM01![0]!.key;
      await assert.rejects(model.download(key, { write: () => undefined }));
      assert.equal(model.snapshot.transfers[key]?.state, "failed");
      assert.equal(model.snapshot.transfers[key]?.code, "file_expired");
    });

    it("opens a view-once photo once: its key goes here and on this user's other devices, and the server copy in a direct conversation", async () => {
      const { client, model } = await connected();
      const file = await client.uploadFile("DBOB01", bytesSource(new Uint8Array(9)), {
        name: "once.jpg",
        type: "image/jpeg",
        viewOnce: true,
      });
      client.emit("message", fileMessage("DBOB01", BOB, "9", file));
      await settle();
      const key = model.snapshot.messages.DBOB01![0]!.key;
      await model.download(key, { write: () => undefined });
      const after = model.snapshot.messages.DBOB01![0]!;
      assert.equal(after.attachment?.opened, true);
      assert.equal(after.attachment?.file, undefined);
      assert.deepEqual(client.deleted, [file.id]);
      assert.equal(client.sent.length, 1);
      await assert.rejects(model.download(key, { write: () => undefined }));
    });

    it("removes a view-once attachment when another device of this user says it was opened", async () => {
      const { client, model } = await connected();
      const file = fileDescriptor("a".repeat(32), { name: "v.webm", type: "audio/webm", viewOnce: true }, 10);
      client.emit("message", fileMessage("TEAM01", BOB, "10", file));
      await settle();
      const key = model.snapshot.messages.TEAM01![0]!.key;
      client.emit("message", {
        ...message("TEAM01", ALICE, "11"),
        content: { data: { kind: "viewed", id: key, from: BOB.id } },
        text: undefined,
      } as MessageEvent);
      await settle();
      assert.equal(model.snapshot.messages.TEAM01![0]!.attachment?.opened, true);
      assert.equal(model.snapshot.messages.TEAM01![0]!.attachment?.file, undefined);
    });
  });

  describe("notifications (issue 18.5)", () => {
    const withMention = (roomId: string, id: string, text: string, mentions: string[]) =>
      ({ ...message(roomId, BOB, id, text), content: { type: "text", text, mentions } }) as MessageEvent;
    const away = { visible: false, open: false };

    it("alerts on every direct message, and on rooms' mentions only, by default", async () => {
      const { client, model, changes } = await connected();
      assert.equal(model.notifyLevel("DBOB01"), "all");
      assert.equal(model.notifyLevel("TEAM01"), "mentions");
      client.emit("message", message("DBOB01", BOB, "m1", "direct"));
      client.emit("message", message("TEAM01", BOB, "m2", "chatter"));
      client.emit("message", withMention("TEAM01", "m3", "@alice look", [ALICE.id]));
      await settle();
      const alerted = changes
        .filter((c) => c.type === "message")
        .filter((c) => model.alerts(c.message, away))
        .map((c) => c.message.text);
      assert.deepEqual(alerted, ["direct", "@alice look"]);
    });

    it("never alerts for this user's own messages, nor for the conversation being read", async () => {
      const { client, model, changes } = await connected();
      client.emit("message", message("DBOB01", BOB, "m1", "direct"));
      await settle();
      const m = changes.find((c) => c.type === "message");
      assert.ok(m?.type === "message");
      assert.equal(model.alerts(m.message, { visible: true, open: true }), false);
      assert.equal(model.alerts({ ...m.message, own: true }, away), false);
      assert.equal(model.alerts(m.message, { visible: true, open: false }), true);
    });

    it("keeps a muted room silent, mentions included, and leaves it out of the badge", async () => {
      const { client, model, changes } = await connected();
      model.setNotifyLevel("team01", "off");
      assert.equal(model.notifyLevel("TEAM01"), "off");
      client.emit("message", withMention("TEAM01", "m1", "@alice look", [ALICE.id]));
      client.emit("message", message("DBOB01", BOB, "m2", "direct"));
      await settle();
      const m = changes.find((c) => c.type === "message" && c.message.roomId === "TEAM01");
      assert.ok(m?.type === "message");
      assert.equal(model.alerts(m.message, away), false);
      assert.deepEqual(model.snapshot.unread, { TEAM01: 1, DBOB01: 1 });
      assert.equal(model.badge(), 1);
      model.setNotifyLevel("TEAM01", "all");
      assert.equal(model.badge(), 2);
    });

    it("refuses a level that is not one of all, mentions, off", async () => {
      const { model } = await connected();
      assert.throws(() => model.setNotifyLevel("TEAM01", "loud" as never), TypeError);
    });

    it("keeps levels and the preview choice, and restores them in a new model", async () => {
      const history = new History(new MemoryStore());
      const { client, model } = await connected({ history });
      assert.equal(model.snapshot.previews, false);
      model.setNotifyLevel("TEAM01", "all");
      model.setNotifyLevel("DBOB01", "off");
      model.setPreviews(true);
      await history.flush();
      const next = new ChatModel(client, { history });
      await next.restoreHistory();
      assert.deepEqual(next.snapshot.notify, { TEAM01: "all", DBOB01: "off" });
      assert.equal(next.snapshot.previews, true);
      model.dispose();
      next.dispose();
    });
  });

  describe("following (SUB-1, SUB-2)", () => {
    it("loads who this user follows, and follows and unfollows", async () => {
      const { client, model } = setUp();
      client.followed = [{ id: CAROL.id, username: CAROL.username }];
      client.connectNow();
      await settle();
      assert.deepEqual(model.snapshot.following, [CAROL]);
      await model.follow(BOB.id);
      assert.ok(model.follows(BOB.id));
      assert.deepEqual(await client.subscriptions(), [CAROL, BOB]);
      await model.unfollow(CAROL.id);
      assert.deepEqual(model.snapshot.following, [BOB]);
      await assert.rejects(model.follow("u-nobody"), (e) => isParleyClientError(e, "user_not_found"));
    });

    it("offers each public room a followed person posts in once, until it is joined or dismissed", async () => {
      const { client, model, changes } = await connected();
      await model.follow(BOB.id);
      client.emit("followed_post", { roomId: "pub001", from: { userId: BOB.id, username: "bob" }, ts: 5 });
      client.emit("followed_post", { roomId: "PUB001", from: { userId: BOB.id, username: "bob" }, ts: 6 });
      client.emit("followed_post", { roomId: "PUB002", from: { userId: BOB.id, username: "bob" }, ts: 7 });
      // A room this user is in already is no offer.
      client.emit("followed_post", { roomId: "TEAM01", from: { userId: BOB.id, username: "bob" }, ts: 8 });
      await settle();
      assert.deepEqual(
        model.snapshot.followedPosts.map((p) => [p.roomId, p.by.username, p.at, p.count]),
        [
          ["PUB002", "bob", 7, 1],
          ["PUB001", "bob", 6, 2],
        ],
      );
      assert.deepEqual(
        changes.flatMap((c) => (c.type === "followed_post" ? [`${c.post.roomId} ${c.isNew}`] : [])),
        ["PUB001 true", "PUB001 false", "PUB002 true"],
      );
      model.dismissFollowedPost("pub002");
      client.emit("room", room("PUB001", "lobby"));
      await settle();
      assert.deepEqual(model.snapshot.followedPosts, []);
    });

    it("drops a person's offers when this user stops following them", async () => {
      const { client, model } = await connected();
      await model.follow(BOB.id);
      client.emit("followed_post", { roomId: "PUB001", from: { userId: BOB.id, username: "bob" }, ts: 5 });
      await settle();
      await model.unfollow(BOB.id);
      assert.deepEqual(model.snapshot.followedPosts, []);
    });
  });

  describe("replies, reactions, edits, deletes and mentions (CHAT-1..5)", () => {
    let ids = 0;
    /** A message event as the SDK emits it: `content` from `from`, stamped with an id and time. */
    const event = (
      from: { id: string; username: string },
      content: Content,
      sentAt: number,
      messageId = `${++ids}`.padStart(32, "a"),
    ): MessageEvent => ({
      roomId: "TEAM01",
      id: `srv-${messageId}`,
      ts: sentAt,
      from: { userId: from.id, username: from.username, deviceId: "d1" },
      content,
      text: "text" in content ? content.text : undefined,
      trust: "unverified",
      epoch: 1,
      messageId,
      sentAt,
    });
    const BOB_MSG = "b".repeat(32);
    const to = { id: BOB_MSG, from: BOB.id };
    const bobSays = (text = "lunch at noon?") => event(BOB, { text }, 10_000, BOB_MSG);
    const shown = (model: ChatModel) => model.snapshot.messages.TEAM01?.find((m) => m.key === BOB_MSG);

    it("shows a reply with a quote of the message it answers, and a missing or deleted one as such", async () => {
      const { client, model } = await connected();
      client.emit("message", bobSays("lunch   at\nnoon?"));
      client.emit("message", event(CAROL, { text: "yes", reply: to }, 11_000));
      client.emit(
        "message",
        event(CAROL, { text: "what?", reply: { id: "c".repeat(32), from: BOB.id } }, 12_000),
      );
      await settle();
      const [, yes, what] = model.snapshot.messages.TEAM01 ?? [];
      assert.deepEqual(yes?.replyTo, { key: BOB_MSG, fromId: BOB.id });
      assert.deepEqual(model.quoteOf(yes!), {
        key: BOB_MSG,
        fromId: BOB.id,
        fromName: "bob",
        excerpt: "lunch at noon?",
        state: "shown",
      });
      assert.equal(model.quoteOf(what!)?.state, "missing");
      client.emit("message", event(BOB, { delete: { to } }, 13_000));
      await settle();
      assert.equal(model.quoteOf(yes!)?.state, "deleted");
      assert.equal(model.quoteOf(yes!)?.excerpt, "");
    });

    it("sends a reply with its reference and the members it mentions", async () => {
      const { client, model } = await connected();
      client.emit("message", bobSays());
      await settle();
      const sent = await model.send("TEAM01", "ok @Bob and @carol, not @nobody or a@bob", {
        replyTo: { key: BOB_MSG, fromId: BOB.id },
      });
      assert.deepEqual(client.contents.at(-1)?.content, {
        text: "ok @Bob and @carol, not @nobody or a@bob",
        reply: to,
        mentions: [BOB.id, CAROL.id],
      });
      assert.deepEqual(sent.mentions, [BOB.id, CAROL.id]);
      assert.equal(model.quoteOf(sent)?.fromName, "bob");
      // A plain text is still sent as a bare text, as older clients read it.
      await model.send("TEAM01", "plain");
      assert.equal(client.contents.at(-1)?.content, "plain");
    });

    it("keeps who a message mentions", async () => {
      const { client, model } = await connected();
      client.emit("message", event(BOB, { text: "@alice look", mentions: [ALICE.id] }, 10_000));
      await settle();
      assert.deepEqual(model.snapshot.messages.TEAM01?.[0]?.mentions, [ALICE.id]);
    });

    it("groups reactions by emoji with counts and who, and reacting again takes one back", async () => {
      const { client, model } = await connected();
      client.emit("message", bobSays());
      client.emit("message", event(BOB, { reaction: { to, emoji: "👍", on: true } }, 10_100));
      client.emit("message", event(CAROL, { reaction: { to, emoji: "👍", on: true } }, 10_200));
      client.emit("message", event(CAROL, { reaction: { to, emoji: "🎉", on: true } }, 10_300));
      await settle();
      assert.deepEqual(
        reactionGroups(shown(model)!, ALICE.id).map((g) => [g.emoji, g.count, g.usernames, g.mine]),
        [
          ["👍", 2, ["bob", "Carol"], false],
          ["🎉", 1, ["Carol"], false],
        ],
      );
      await model.react("TEAM01", { key: BOB_MSG, fromId: BOB.id }, "👍");
      assert.deepEqual(client.contents.at(-1)?.content, { reaction: { to, emoji: "👍", on: true } });
      assert.deepEqual(reactionGroups(shown(model)!, ALICE.id)[0]?.count, 3);
      assert.equal(reactionGroups(shown(model)!, ALICE.id)[0]?.mine, true);
      await model.react("TEAM01", { key: BOB_MSG, fromId: BOB.id }, "👍");
      assert.deepEqual(client.contents.at(-1)?.content, { reaction: { to, emoji: "👍", on: false } });
      assert.deepEqual(
        reactionGroups(shown(model)!, ALICE.id).map((g) => [g.emoji, g.count, g.mine]),
        [
          ["👍", 2, false],
          ["🎉", 1, false],
        ],
      );
      client.emit("message", event(CAROL, { reaction: { to, emoji: "🎉", on: false } }, 10_400));
      await settle();
      assert.deepEqual(
        reactionGroups(shown(model)!, ALICE.id).map((g) => g.emoji),
        ["👍"],
      );
    });

    it("lets the later of two reactions win, whatever order they arrive in", async () => {
      const { client, model } = await connected();
      client.emit("message", bobSays());
      client.emit("message", event(CAROL, { reaction: { to, emoji: "👍", on: false } }, 10_500));
      client.emit("message", event(CAROL, { reaction: { to, emoji: "👍", on: true } }, 10_100));
      await settle();
      assert.deepEqual(reactionGroups(shown(model)!, ALICE.id), []);
    });

    it("shows the latest edit of a message as edited, whatever order the edits arrive in", async () => {
      const { client, model, changes } = await connected();
      client.emit("message", bobSays());
      client.emit("message", event(BOB, { edit: { to, text: "lunch at one?" } }, 12_000));
      client.emit("message", event(BOB, { edit: { to, text: "lunch at 12:30?" } }, 11_000));
      await settle();
      assert.equal(shown(model)?.text, "lunch at one?");
      assert.equal(shown(model)?.edited?.at, 12_000);
      assert.ok(changes.some((c) => c.type === "changed" && c.change.kind === "edit" && c.by.id === BOB.id));
    });

    it("keeps an edit in history before it shows it, so a reload right after still has it", async () => {
      // A history whose writes wait for the test: what the model shows meanwhile is what a page
      // that reloads at that moment would lose if it were not kept yet.
      const kept = new Map<string, readonly ChatMessage[]>();
      let release: (() => void) | undefined;
      const history: ChatHistory = {
        loadAll: async () => Object.fromEntries(kept),
        save: (roomId, list) => void kept.set(roomId, list),
        saveNow: async (roomId, list) => {
          if (list.some((m) => m.edited !== undefined)) await new Promise<void>((r) => (release = r));
          kept.set(roomId, list);
        },
        remove: async (roomId) => void kept.delete(roomId),
      };
      const { client, model } = await connected({ history });
      client.emit("message", bobSays());
      await settle();
      client.emit("message", event(BOB, { edit: { to, text: "lunch at one?" } }, 12_000));
      await settle();
      assert.ok(release !== undefined, "the edit is being kept");
      assert.equal(shown(model)?.text, "lunch at noon?", "not shown before it is kept");
      release();
      await settle();
      assert.equal(shown(model)?.text, "lunch at one?");
      assert.equal(kept.get("TEAM01")?.find((m) => m.key === BOB_MSG)?.text, "lunch at one?");
    });

    it("ignores an edit after the edit window, and lets the window be set", async () => {
      const { client, model } = await connected({ editWindowMs: 60_000 });
      client.emit("message", bobSays());
      client.emit("message", event(BOB, { edit: { to, text: "too late" } }, 10_000 + 60_001));
      client.emit("message", event(BOB, { edit: { to, text: "in time" } }, 10_000 + 60_000));
      await settle();
      assert.equal(shown(model)?.text, "in time");
    });

    it("ignores a forged edit or delete: one from anyone but the message's sender", async () => {
      const { client, model, changes } = await connected();
      client.emit("message", bobSays());
      await settle();
      const before = shown(model);
      // Carol names Bob's message as Bob's, and as her own: neither changes it.
      client.emit("message", event(CAROL, { edit: { to, text: "forged" } }, 11_000));
      client.emit("message", event(CAROL, { delete: { to } }, 11_100));
      client.emit(
        "message",
        event(CAROL, { edit: { to: { id: BOB_MSG, from: CAROL.id }, text: "x" } }, 11_200),
      );
      client.emit("message", event(CAROL, { delete: { to: { id: BOB_MSG, from: CAROL.id } } }, 11_300));
      await settle();
      assert.equal(shown(model), before);
      assert.equal(shown(model)?.text, "lunch at noon?");
      assert.ok(!changes.some((c) => c.type === "changed"));
    });

    it("refuses to edit or delete someone else's message, or a message it does not have", async () => {
      const { client, model } = await connected();
      client.emit("message", bobSays());
      await settle();
      const ref = { key: BOB_MSG, fromId: BOB.id };
      await assert.rejects(model.edit("TEAM01", ref, "mine now"), (e) =>
        isParleyClientError(e, "not_editable"),
      );
      await assert.rejects(model.deleteForEveryone("TEAM01", ref), (e) =>
        isParleyClientError(e, "not_editable"),
      );
      await assert.rejects(model.react("TEAM01", { key: "d".repeat(32), fromId: BOB.id }, "👍"), (e) =>
        isParleyClientError(e, "message_unknown"),
      );
      assert.equal(client.contents.length, 0);
    });

    it("edits and deletes this user's own message, within the window only", async () => {
      let now = 50_000;
      const { client, model } = await connected({ now: () => now, editWindowMs: 60_000 });
      const m = await model.send("TEAM01", "helo");
      const ref = { key: m.key, fromId: ALICE.id };
      assert.equal(model.canEdit(model.message("TEAM01", ref)!), true);
      await model.edit("TEAM01", ref, "hello @bob");
      assert.deepEqual(client.contents.at(-1)?.content, {
        edit: { to: { id: m.key, from: ALICE.id }, text: "hello @bob", mentions: [BOB.id] },
      });
      assert.equal(model.message("TEAM01", ref)?.text, "hello @bob");
      assert.ok(model.message("TEAM01", ref)?.edited);
      now += 60_001;
      assert.equal(model.canEdit(model.message("TEAM01", ref)!), false);
      await assert.rejects(model.edit("TEAM01", ref, "late"), (e) => isParleyClientError(e, "not_editable"));
      await model.deleteForEveryone("TEAM01", ref);
      assert.deepEqual(client.contents.at(-1)?.content, { delete: { to: { id: m.key, from: ALICE.id } } });
      const gone = model.message("TEAM01", ref);
      assert.equal(gone?.deleted, true);
      assert.equal(gone?.text, "");
      assert.equal(model.canDelete(gone!), false);
    });

    it("deletes a message for everyone: nothing of it stays, and later changes do not bring it back", async () => {
      const { client, model } = await connected();
      client.emit("message", event(BOB, { text: "secret", mentions: [ALICE.id] }, 10_000, BOB_MSG));
      client.emit("message", event(CAROL, { reaction: { to, emoji: "👍", on: true } }, 10_100));
      client.emit("message", event(BOB, { delete: { to } }, 10_200));
      client.emit("message", event(BOB, { edit: { to, text: "back" } }, 10_300));
      client.emit("message", event(CAROL, { reaction: { to, emoji: "🎉", on: true } }, 10_400));
      await settle();
      const m = shown(model)!;
      assert.equal(m.deleted, true);
      assert.equal(m.text, "");
      assert.equal(m.reactions, undefined);
      assert.equal(m.mentions, undefined);
      assert.equal(m.edited, undefined);
      assert.ok(!JSON.stringify(model.snapshot).includes("secret"));
    });

    it("applies reactions, edits and deletes that arrive before their message once it arrives", async () => {
      const { client, model } = await connected();
      const other = "e".repeat(32);
      client.emit("message", event(BOB, { edit: { to, text: "edited first" } }, 11_000));
      client.emit("message", event(CAROL, { reaction: { to, emoji: "👀", on: true } }, 11_100));
      client.emit("message", event(BOB, { delete: { to: { id: other, from: BOB.id } } }, 11_200));
      await settle();
      assert.equal(shown(model), undefined);
      client.emit("message", bobSays());
      client.emit("message", event(BOB, { text: "gone before seen" }, 10_500, other));
      await settle();
      assert.equal(shown(model)?.text, "edited first");
      assert.deepEqual(reactionGroups(shown(model)!, ALICE.id)[0]?.usernames, ["Carol"]);
      const gone = model.snapshot.messages.TEAM01?.find((m) => m.key === other);
      assert.equal(gone?.deleted, true);
      assert.equal(gone?.text, "");
    });

    it("keeps changes that wait for their message, and the changed messages, across a reload", async () => {
      const store = new MemoryStore();
      const history = new History(store);
      const { client, model } = await connected({ history });
      const later = "f".repeat(32);
      client.emit("message", bobSays());
      client.emit("message", event(CAROL, { reaction: { to, emoji: "👍", on: true } }, 10_100));
      client.emit("message", event(BOB, { edit: { to, text: "noon sharp?" } }, 10_200));
      client.emit(
        "message",
        event(BOB, { edit: { to: { id: later, from: BOB.id }, text: "early edit" } }, 20_000),
      );
      await settle();
      await history.flush();
      model.dispose();
      // A new session on the same device: the waiting edit still applies when its message comes.
      const next = new ChatModel(client, { history: new History(store) });
      await next.restoreHistory();
      assert.equal(shown(next)?.text, "noon sharp?");
      assert.equal(reactionGroups(shown(next)!, ALICE.id)[0]?.count, 1);
      client.emit("message", event(BOB, { text: "original" }, 19_000, later));
      await settle();
      assert.equal(next.snapshot.messages.TEAM01?.find((m) => m.key === later)?.text, "early edit");
      next.dispose();
    });

    it("removes a deleted message's text from the history at once", async () => {
      const store = new MemoryStore();
      const history = new History(store);
      const { client } = await connected({ history });
      client.emit("message", event(BOB, { text: "never keep this" }, 10_000, BOB_MSG));
      await settle();
      await history.flush();
      const kept = async () => new TextDecoder().decode(await store.get("history/room/TEAM01"));
      assert.ok((await kept()).includes("never keep this"));
      client.emit("message", event(BOB, { delete: { to } }, 10_100));
      await settle();
      assert.ok(!(await kept()).includes("never keep this"));
    });

    it("finds messages by words, newest first, not deleted ones, and edited ones by their new text", async () => {
      const { client, model } = await connected();
      client.emit("message", event(BOB, { text: "Café at noon" }, 10_000));
      client.emit("message", event(CAROL, { text: "the cafe is closed" }, 11_000));
      client.emit("message", event(BOB, { text: "cafe secret" }, 12_000, BOB_MSG));
      client.emit("message", event(BOB, { delete: { to } }, 12_100));
      await settle();
      assert.deepEqual(
        model.search("CAFE").map((m) => m.text),
        ["the cafe is closed", "Café at noon"],
      );
      assert.deepEqual(
        model.search("cafe noon").map((m) => m.text),
        ["Café at noon"],
      );
      assert.deepEqual(model.search("secret"), []);
      assert.deepEqual(model.search("   "), []);
      assert.deepEqual(model.search("cafe", { roomId: "DBOB01" }), []);
      assert.equal(model.search("cafe", { limit: 1 }).length, 1);
    });
  });
});
