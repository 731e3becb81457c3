import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { FakeSink } from "../bus/bus-contract.js";
import { MemoryBus } from "../bus/memory-bus.js";
import { ParleyError } from "./errors.js";
import { asUserId } from "./ids.js";
import { MembershipCache } from "./membership-cache.js";
import { MessageIdGenerator } from "./message-id-generator.js";
import { Relay } from "./relay.js";
import { RoomService } from "./rooms.js";
import { SubscriptionService } from "./subscriptions.js";
import { addUser, tempStorage } from "./test-support.js";

const code = (c: string) => (e: unknown) => e instanceof ParleyError && e.code === c;

interface Msg {
  type: string;
  id: string;
  ts: number;
  from: { id: string; username: string };
  room?: string;
  user?: string;
  via?: string;
  payload: string;
}

async function fixture(t: TestContext) {
  const storage = await tempStorage(t);
  const bus = new MemoryBus();
  const sink = new FakeSink(bus);
  const membership = new MembershipCache(storage);
  const subscriptions = new SubscriptionService(storage, bus);
  const rooms = new RoomService({ storage, bus, membership });
  const relay = new Relay({
    bus,
    membership,
    subscriptions,
    messageIds: new MessageIdGenerator(),
    userExists: async (id) => (await storage.findUserById(id))?.disabled === false,
    now: () => 42,
  });
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => addUser(storage, n)));
  for (const u of ["u-alice", "u-bob", "u-carol"]) {
    sink.local(u, `${u}-1`);
    sink.local(u, `${u}-2`);
  }
  const got = (userId: string) =>
    sink
      .framesFor(userId)
      .map((f) => JSON.parse(f) as Msg)
      .filter((m) => m.type === "message");
  return { storage, rooms, relay, sink, subscriptions, alice: alice!, bob: bob!, carol: carol!, got };
}

describe("Relay", () => {
  test("sends one stamped frame to every member connection but the sender's (RELAY-1, RELAY-4)", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "team", isPublic: false });
    await f.rooms.invite(f.alice, room.id, f.bob.userId);
    await f.rooms.join(f.bob, room.id);
    const before = f.sink.received.length;
    const { id, ts } = await f.relay.toRoom(f.alice, "u-alice-1", room.id.toLowerCase(), "Y2lwaGVy");
    assert.equal(ts, 42);
    const sent = f.sink.received.slice(before);
    assert.deepEqual(sent.map((r) => r.connectionId).sort(), ["u-alice-2", "u-bob-1", "u-bob-2"]);
    assert.equal(new Set(sent.map((r) => r.frame)).size, 1, "the same bytes for every recipient");
    assert.deepEqual(JSON.parse(sent[0]?.frame ?? "{}"), {
      type: "message",
      id,
      ts: 42,
      from: { id: "u-alice", username: "alice" },
      room: room.id,
      payload: "Y2lwaGVy",
    });
    assert.deepEqual(f.got("u-carol"), []);
  });

  test("gives every message a new id", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "team" });
    const a = await f.relay.toRoom(f.alice, "u-alice-1", room.id, "AA");
    const b = await f.relay.toRoom(f.alice, "u-alice-1", room.id, "AA");
    assert.notEqual(a.id, b.id);
  });

  test("refuses a room that does not exist or that the sender is not in", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "team" });
    await assert.rejects(async () => f.relay.toRoom(f.bob, "u-bob-1", room.id, "AA"), code("not_a_member"));
    await assert.rejects(
      async () => f.relay.toRoom(f.bob, "u-bob-1", "ZZZZZZ", "AA"),
      code("room_not_found"),
    );
    await assert.rejects(f.relay.typing(f.bob, "u-bob-1", room.id, true), code("not_a_member"));
  });

  test("stops at once for a member who was removed (the cache follows the change)", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "team", isPublic: true });
    await f.rooms.join(f.bob, room.id);
    await f.relay.toRoom(f.alice, "u-alice-1", room.id, "AA");
    assert.equal(f.got("u-bob").length, 2);
    await f.rooms.remove(f.alice, room.id, f.bob.userId);
    await f.relay.toRoom(f.alice, "u-alice-1", room.id, "AA");
    assert.equal(f.got("u-bob").length, 2);
  });

  test("copies a public room's post to followers outside the room only (SUB-2)", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "news", isPublic: true });
    await f.rooms.join(f.bob, room.id);
    await f.subscriptions.subscribe(f.bob, f.alice.userId);
    await f.subscriptions.subscribe(f.carol, f.alice.userId);
    await f.relay.toRoom(f.alice, "u-alice-1", room.id, "AA");
    assert.deepEqual(
      f.got("u-carol").map((m) => m.via),
      ["subscription", "subscription"],
    );
    assert.deepEqual(
      f.got("u-bob").map((m) => m.via),
      [undefined, undefined],
      "a member gets the room copy only",
    );
    const { room: quiet } = await f.rooms.create(f.alice, { name: "quiet", isPublic: false });
    await f.relay.toRoom(f.alice, "u-alice-1", quiet.id, "AA");
    assert.equal(f.got("u-carol").length, 2, "nothing from a private room");
  });

  test("sends a user message to the recipient and the sender's other connections", async (t) => {
    const f = await fixture(t);
    await f.relay.toUser(f.alice, "u-alice-1", f.bob.userId, "AA");
    assert.equal(f.got("u-bob").length, 2);
    assert.deepEqual(
      f.got("u-alice").map((m) => m.user),
      ["u-bob"],
    );
    await assert.rejects(
      f.relay.toUser(f.alice, "u-alice-1", asUserId("u-nobody"), "AA"),
      code("user_not_found"),
    );
  });

  test("tells the other members who is typing", async (t) => {
    const f = await fixture(t);
    const { room } = await f.rooms.create(f.alice, { name: "team", isPublic: true });
    await f.rooms.join(f.bob, room.id);
    await f.relay.typing(f.alice, "u-alice-1", room.id, true);
    const typing = f.sink.framesFor("u-bob").map((x) => JSON.parse(x) as { type: string; active?: boolean });
    assert.deepEqual(
      typing.filter((x) => x.type === "typing.event").map((x) => x.active),
      [true, true],
    );
  });
});
