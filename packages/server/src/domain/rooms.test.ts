import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { ControlEvent } from "../bus/bus.js";
import { FakeSink } from "../bus/bus-contract.js";
import { MemoryBus } from "../bus/memory-bus.js";
import { ParleyError } from "./errors.js";
import type { RoomId, UserId } from "./ids.js";
import { memoryLimiters } from "./limiters.js";
import { MembershipCache } from "./membership-cache.js";
import { PassphraseGuard } from "./passphrase-guard.js";
import { RoomService } from "./rooms.js";
import { addUser, tempStorage } from "./test-support.js";

const code = (c: string) => (e: unknown) => e instanceof ParleyError && e.code === c;

async function fixture(
  t: TestContext,
  options: { invitesPerMinute?: number; maxPendingInvites?: number } = {},
) {
  const storage = await tempStorage(t);
  const bus = new MemoryBus();
  const sink = new FakeSink(bus);
  const membership = new MembershipCache(storage);
  const gone: [UserId, RoomId][] = [];
  let clock = 1000;
  const rooms = new RoomService({
    storage,
    bus,
    membership,
    onMemberGone: async (userId, roomId) => {
      gone.push([userId, roomId]);
    },
    limiters: memoryLimiters,
    invitesPerMinute: options.invitesPerMinute ?? 30,
    maxPendingInvites: options.maxPendingInvites ?? 100,
    passphrases: new PassphraseGuard({ limiters: memoryLimiters, maxFailures: 3, windowS: 300, blockS: 300 }),
    now: () => clock++,
  });
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => addUser(storage, n)));
  for (const u of ["u-alice", "u-bob", "u-carol"]) sink.local(u, `conn-${u}`);
  const events = (userId: string) =>
    sink.framesFor(userId).map(
      (f) =>
        JSON.parse(f) as {
          type: string;
          event?: string;
          userId?: string;
          by?: { username: string };
          changes?: string[];
          role?: string;
          room?: { name: string; isPublic: boolean; maxMembers?: number; hasPassphrase?: true };
        },
    );
  const controls = () =>
    sink.controls.filter(
      (c): c is Extract<ControlEvent, { type: "membership.changed" }> => c.type === "membership.changed",
    );
  return {
    storage,
    rooms,
    membership,
    sink,
    gone,
    alice: alice!,
    bob: bob!,
    carol: carol!,
    events,
    controls,
  };
}

describe("RoomService", () => {
  test("creates a room with its creator as owner and announces the membership change", async (t) => {
    const f = await fixture(t);
    const { room, members } = await f.rooms.create(f.alice, { name: "  ops  ", topic: " ", isPublic: false });
    assert.equal(room.name, "ops");
    assert.equal(room.topic, null, "a blank topic is none");
    assert.match(room.id, /^[2-9A-HJKMNP-Z]{6}$/);
    assert.deepEqual(
      members.map((m) => [m.username, m.role]),
      [["alice", "owner"]],
    );
    assert.deepEqual(
      f.controls().map((c) => c.roomId),
      [room.id],
    );
  });

  test("refuses a name that is only spaces", async (t) => {
    const f = await fixture(t);
    await assert.rejects(f.rooms.create(f.alice, { name: "   " }), code("validation_failed"));
  });

  test("lets anyone join a public room, in any letter case, and tells the members", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "lobby", isPublic: true });
    const joined = await f.rooms.join(f.bob, room.id.toLowerCase());
    assert.deepEqual(joined.members.map((m) => m.username).sort(), ["alice", "bob"]);
    assert.ok(
      f
        .events("u-alice")
        .some((e) => e.type === "room.event" && e.event === "joined" && e.userId === "u-bob"),
    );
    await f.rooms.join(f.bob, room.id);
    assert.equal(
      f.events("u-alice").filter((e) => e.event === "joined").length,
      1,
      "joining twice announces once",
    );
  });

  test("lets only invited users into a private room", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "private", isPublic: false });
    await assert.rejects(f.rooms.join(f.bob, room.id), code("not_invited"));
    await assert.rejects(f.rooms.invite(f.carol, room.id, f.bob.userId), code("not_a_member"));
    await f.rooms.invite(f.alice, room.id, f.bob.userId);
    assert.ok(f.events("u-bob").some((e) => e.type === "invited"));
    await f.rooms.join(f.bob, room.id);
    assert.equal(
      await f.storage.hasRoomInvite(room.id as RoomId, f.bob.userId),
      false,
      "the invite is used up",
    );
  });

  test("hands the room to its longest-standing member when the owner leaves (RELAY-7 drop included)", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "team", isPublic: true });
    await f.rooms.join(f.bob, room.id);
    await f.rooms.join(f.carol, room.id);
    await f.rooms.leave(f.alice, room.id);
    assert.equal((await f.storage.findRoom(room.id as RoomId))?.ownerId, f.bob.userId);
    assert.deepEqual(f.gone, [[f.alice.userId, room.id]]);
    assert.ok(
      f.events("u-alice").some((e) => e.event === "left"),
      "the leaver is told too",
    );
    await assert.rejects(f.rooms.leave(f.alice, room.id), code("not_a_member"));
  });

  test("deletes a room its last member leaves", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "solo" });
    await f.rooms.leave(f.alice, room.id);
    assert.equal(await f.storage.findRoom(room.id as RoomId), undefined);
    await assert.rejects(f.rooms.join(f.bob, room.id), code("room_not_found"));
  });

  test("lets only the owner or a moderator remove a member, who is told and whose queue is dropped", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "team", isPublic: true });
    await f.rooms.join(f.bob, room.id);
    await f.rooms.join(f.carol, room.id);
    await assert.rejects(f.rooms.remove(f.bob, room.id, f.carol.userId), code("not_room_moderator"));
    await assert.rejects(f.rooms.remove(f.alice, room.id, f.alice.userId), code("invalid_target"));
    await f.rooms.remove(f.alice, room.id, f.carol.userId);
    assert.ok(
      f.events("u-carol").some((e) => e.event === "removed" && e.by?.username === "alice"),
      "the removed member learns who removed them",
    );
    assert.deepEqual(f.gone, [[f.carol.userId, room.id]]);
    await assert.rejects(f.rooms.remove(f.alice, room.id, f.carol.userId), code("target_not_member"));
    assert.equal(f.gone.length, 1, "a refused removal drops nothing");
  });

  test("opens one direct room per pair, whoever opens it, and brings back a side that left", async (t) => {
    const f = await fixture(t);
    const first = await f.rooms.openDirect(f.alice, f.bob.userId);
    await f.rooms.leave(f.bob, first.room.id);
    const second = await f.rooms.openDirect(f.bob, f.alice.userId);
    assert.equal(second.room.id, first.room.id);
    assert.deepEqual(second.members.map((m) => m.username).sort(), ["alice", "bob"]);
    await assert.rejects(f.rooms.openDirect(f.alice, f.alice.userId), code("invalid_target"));
    await assert.rejects(f.rooms.join(f.carol, first.room.id), code("not_invited"));
  });

  test("shows a private room's members to its members only, with who is online", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "private", isPublic: false });
    await f.sink.connect("u-alice");
    const { members } = await f.rooms.members(f.alice, room.id);
    assert.deepEqual(
      members.map((m) => [m.username, m.online]),
      [["alice", true]],
    );
    await assert.rejects(f.rooms.members(f.bob, room.id), code("not_a_member"));
  });

  test("makes new rooms private: nobody joins by id without an invite, and the directory does not list them", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "secret" });
    assert.equal(room.isPublic, false);
    await assert.rejects(f.rooms.join(f.bob, room.id), code("not_invited"));
    assert.deepEqual((await f.rooms.discover()).rooms, []);
  });

  test("lists public rooms with their member counts", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "lobby", topic: "hello", isPublic: true });
    await f.rooms.join(f.bob, room.id);
    const page = await f.rooms.discover({ query: "LOB" });
    assert.deepEqual(
      page.rooms.map((r) => [r.name, r.topic, r.memberCount]),
      [["lobby", "hello", 2]],
    );
  });

  test("refuses the member after the cap, by invitation or not (ROOM-14)", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "pair", isPublic: true, maxMembers: 2 });
    assert.equal(room.maxMembers, 2);
    await f.rooms.join(f.bob, room.id);
    await assert.rejects(f.rooms.join(f.carol, room.id), code("room_full"));
    await assert.rejects(f.rooms.invite(f.alice, room.id, f.carol.userId), code("room_full"));
    await f.rooms.leave(f.bob, room.id);
    await f.rooms.join(f.carol, room.id);
  });

  test("asks for the passphrase of a public room, lets invitees in without it, and throttles guessing (ROOM-15)", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, {
      name: "club",
      isPublic: true,
      passphrase: "open sesame",
    });
    assert.equal(room.hasPassphrase, true);
    const stored = await f.storage.findRoom(room.id as RoomId);
    assert.match(stored?.passphraseHash ?? "", /^\$argon2id\$/, "only a slow hash is kept");
    assert.ok(!JSON.stringify(room).includes("sesame"));
    await assert.rejects(f.rooms.join(f.bob, room.id), code("passphrase_required"));
    await assert.rejects(f.rooms.join(f.bob, room.id, "open simsim"), code("wrong_passphrase"));
    await f.rooms.join(f.bob, room.id, "open sesame");
    await f.rooms.invite(f.alice, room.id, f.carol.userId);
    await f.rooms.join(f.carol, room.id);

    const other = await f.rooms.create(f.alice, { name: "vault", isPublic: true, passphrase: "right one" });
    const dave = await addUser(f.storage, "dave");
    for (let i = 0; i < 3; i++)
      await assert.rejects(f.rooms.join(dave!, other.room.id, `guess ${i}`), code("wrong_passphrase"));
    await assert.rejects(
      f.rooms.join(dave!, other.room.id, "right one"),
      (e: unknown) => code("passphrase_throttled")(e) && ((e as ParleyError).retryAfterMs ?? 0) > 0,
      "once blocked, even the right passphrase waits",
    );
  });

  test("lets the owner make moderators, who may invite to a private room and remove members but not moderators (ROOM-16)", async (t) => {
    const f = await fixture(t);
    const dave = (await addUser(f.storage, "dave"))!;
    const { room } = await f.rooms.create(f.alice, { name: "ops" });
    for (const u of [f.bob, f.carol]) {
      await f.rooms.invite(f.alice, room.id, u.userId);
      await f.rooms.join(u, room.id);
    }
    await assert.rejects(f.rooms.invite(f.bob, room.id, dave.userId), code("not_room_moderator"));
    await assert.rejects(
      f.rooms.setRole(f.bob, room.id, f.carol.userId, "moderator"),
      code("not_room_owner"),
    );
    await f.rooms.setRole(f.alice, room.id, f.bob.userId, "moderator");
    assert.ok(
      f
        .events("u-carol")
        .some((e) => e.event === "role" && e.role === "moderator" && e.by?.username === "alice"),
    );
    const { members } = await f.rooms.members(f.alice, room.id);
    assert.equal(members.find((m) => m.username === "bob")?.role, "moderator");
    await f.rooms.invite(f.bob, room.id, dave.userId);
    assert.ok(f.events("u-alice").some((e) => e.event === "invited" && e.by?.username === "bob"));
    await f.rooms.setRole(f.alice, room.id, f.carol.userId, "moderator");
    await assert.rejects(f.rooms.remove(f.bob, room.id, f.carol.userId), code("not_room_owner"));
    await f.rooms.setRole(f.alice, room.id, f.carol.userId, "member");
    await f.rooms.remove(f.bob, room.id, f.carol.userId);
    await assert.rejects(f.rooms.remove(f.bob, room.id, f.alice.userId), code("not_room_owner"));
  });

  test("changes settings by role and tells every member what changed (ROOM-16)", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "ops" });
    await f.rooms.invite(f.alice, room.id, f.bob.userId);
    await f.rooms.join(f.bob, room.id);
    await assert.rejects(f.rooms.update(f.bob, room.id, { name: "mine" }), code("not_room_moderator"));
    await assert.rejects(f.rooms.update(f.carol, room.id, { name: "mine" }), code("not_a_member"));
    await f.rooms.setRole(f.alice, room.id, f.bob.userId, "moderator");
    await assert.rejects(f.rooms.update(f.bob, room.id, { isPublic: true }), code("not_room_owner"));
    const renamed = await f.rooms.update(f.bob, room.id, { name: "incident", topic: "db down" });
    assert.equal(renamed.room.name, "incident");
    const event = f.events("u-alice").find((e) => e.event === "updated");
    assert.deepEqual(event?.changes, ["name", "topic"]);
    assert.equal(event?.userId, "u-bob");
    await assert.rejects(f.rooms.update(f.alice, room.id, { name: "a\u202Eb" }), code("invalid_text"));
    const opened = await f.rooms.update(f.alice, room.id, {
      isPublic: true,
      maxMembers: 5,
      passphrase: "letmein",
    });
    assert.deepEqual(
      [opened.room.isPublic, opened.room.maxMembers, opened.room.hasPassphrase],
      [true, 5, true],
    );
    const cleared = await f.rooms.update(f.alice, room.id, { maxMembers: null, passphrase: null });
    assert.deepEqual([cleared.room.maxMembers, cleared.room.hasPassphrase], [undefined, undefined]);
    const before = f.events("u-bob").length;
    await f.rooms.update(f.alice, room.id, { name: "incident" });
    assert.equal(f.events("u-bob").length, before, "no change, no event");
  });

  test("lists pending invitations and lets the invitee decline, which the inviter hears (ROOM-17)", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "ops" });
    await f.rooms.invite(f.alice, room.id, f.bob.userId);
    const invites = await f.rooms.invites(f.bob);
    assert.deepEqual(
      invites.map((i) => [i.room.name, i.by.username]),
      [["ops", "alice"]],
    );
    await f.rooms.decline(f.bob, room.id);
    assert.deepEqual(await f.rooms.invites(f.bob), []);
    assert.ok(f.events("u-alice").some((e) => e.event === "declined" && e.userId === "u-bob"));
    await assert.rejects(f.rooms.join(f.bob, room.id), code("not_invited"));
    await assert.rejects(f.rooms.decline(f.bob, room.id), code("not_invited"));
  });

  test("caps unanswered invitations per sender and rate limits invitations (ROOM-17)", async (t) => {
    const f = await fixture(t, { maxPendingInvites: 1 });
    const a = await f.rooms.create(f.alice, { name: "a" });
    const b = await f.rooms.create(f.alice, { name: "b" });
    await f.rooms.invite(f.alice, a.room.id, f.bob.userId);
    await assert.rejects(f.rooms.invite(f.alice, b.room.id, f.bob.userId), code("too_many_invites"));
    await f.rooms.decline(f.bob, a.room.id);
    await f.rooms.invite(f.alice, b.room.id, f.bob.userId);

    const g = await fixture(t, { invitesPerMinute: 2 });
    const room = await g.rooms.create(g.alice, { name: "spam" });
    await g.rooms.invite(g.alice, room.room.id, g.bob.userId);
    await g.rooms.invite(g.alice, room.room.id, g.carol.userId);
    const dave = (await addUser(g.storage, "dave"))!;
    await assert.rejects(g.rooms.invite(g.alice, room.room.id, dave.userId), code("rate_limited"));
  });

  test("lets only the owner delete a room, for every member (ROOM-18)", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "tmp", isPublic: true });
    await f.rooms.join(f.bob, room.id);
    await assert.rejects(f.rooms.deleteByOwner(f.bob, room.id), code("not_room_owner"));
    await f.rooms.deleteByOwner(f.alice, room.id);
    assert.ok(f.events("u-bob").some((e) => e.event === "deleted" && e.userId === "u-alice"));
    assert.equal(await f.storage.findRoom(room.id as RoomId), undefined);
  });
});
