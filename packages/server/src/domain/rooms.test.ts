import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { ControlEvent } from "../bus/bus.js";
import { FakeSink } from "../bus/bus-contract.js";
import { MemoryBus } from "../bus/memory-bus.js";
import { ParleyError } from "./errors.js";
import type { RoomId, UserId } from "./ids.js";
import { MembershipCache } from "./membership-cache.js";
import { RoomService } from "./rooms.js";
import { addUser, tempStorage } from "./test-support.js";

const code = (c: string) => (e: unknown) => e instanceof ParleyError && e.code === c;

async function fixture(t: TestContext) {
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
    now: () => clock++,
  });
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => addUser(storage, n)));
  for (const u of ["u-alice", "u-bob", "u-carol"]) sink.local(u, `conn-${u}`);
  const events = (userId: string) =>
    sink.framesFor(userId).map((f) => JSON.parse(f) as { type: string; event?: string; userId?: string });
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
    const { room } = await f.rooms.create(f.alice, { name: "lobby" });
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
    const { room } = await f.rooms.create(f.alice, { name: "team" });
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

  test("lets only the owner remove a member, who is told and whose queue is dropped", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "team" });
    await f.rooms.join(f.bob, room.id);
    await f.rooms.join(f.carol, room.id);
    await assert.rejects(f.rooms.remove(f.bob, room.id, f.carol.userId), code("not_room_owner"));
    await assert.rejects(f.rooms.remove(f.alice, room.id, f.alice.userId), code("invalid_target"));
    await f.rooms.remove(f.alice, room.id, f.carol.userId);
    assert.ok(f.events("u-carol").some((e) => e.event === "removed"));
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
});
