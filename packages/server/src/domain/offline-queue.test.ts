import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { FakeSink } from "../bus/bus-contract.js";
import { MemoryBus } from "../bus/memory-bus.js";
import type { DeviceRef } from "../storage/delivery-store.js";
import { asRoomId, type UserId } from "./ids.js";
import { OfflineQueue } from "./offline-queue.js";
import { addUser, T0, tempStorage } from "./test-support.js";

/** alice and bob in room ROOM01, whose MLS group holds alice's and bob's phones and bob's laptop. */
async function fixture(t: TestContext, options: { maxPerDevice?: number; ttlMs?: number } = {}) {
  const storage = await tempStorage(t);
  const bus = new MemoryBus();
  const sink = new FakeSink(bus);
  let now = T0;
  const queuedFor: DeviceRef[][] = [];
  const queue = new OfflineQueue({
    storage,
    bus,
    ttlMs: options.ttlMs ?? 60_000,
    maxPerDevice: options.maxPerDevice ?? 100,
    onQueued: (devices) => queuedFor.push([...devices]),
    now: () => now,
  });
  const alice = await addUser(storage, "alice");
  const bob = await addUser(storage, "bob");
  const roomId = asRoomId("ROOM01");
  await storage.createRoom({
    id: roomId,
    kind: "room",
    name: "r",
    topic: null,
    isPublic: false,
    ownerId: alice.userId,
    pairKey: null,
    createdAt: T0,
  });
  const devices: DeviceRef[] = [
    { userId: alice.userId, deviceId: "phone" },
    { userId: bob.userId, deviceId: "phone" },
    { userId: bob.userId, deviceId: "laptop" },
  ];
  for (const [i, d] of devices.entries()) {
    await storage.delivery.addDevice({ ...d, signatureKey: `key-${i}`, createdAt: T0 });
  }
  const [alicePhone, bobPhone, bobLaptop] = devices as [DeviceRef, DeviceRef, DeviceRef];
  await storage.delivery.acceptCommit({
    roomId,
    epoch: 0,
    commit: "c",
    welcome: null,
    groupInfo: "g",
    from: alicePhone,
    add: [bobPhone, bobLaptop],
    remove: [],
    committerJoins: true,
    roomMembers: new Set([alice.userId, bob.userId]),
    at: T0,
  });
  const members = new Set<UserId>([alice.userId, bob.userId]);
  let n = 0;
  const message = () => ({
    roomId,
    messageId: `m${++n}`,
    from: { userId: alice.userId, username: "alice" },
    ts: now,
    payload: "AAEC",
  });
  return {
    storage,
    sink,
    queue,
    queuedFor,
    members,
    alice,
    bob,
    alicePhone,
    bobPhone,
    bobLaptop,
    message,
    tick: (ms: number) => (now += ms),
  };
}

describe("OfflineQueue", () => {
  test("keeps a room message for the group's devices that are connected nowhere (RELAY-5)", async (t) => {
    const f = await fixture(t);
    f.sink.local(f.alice.userId, "c-alice", "phone");
    f.sink.local(f.bob.userId, "c-bob", "laptop");
    assert.equal(await f.queue.enqueue(f.members, f.message()), 1);
    assert.deepEqual(f.queuedFor, [[f.bobPhone]]);
    assert.deepEqual(
      (await f.queue.page(f.bobPhone, 0)).map((e) => e.messageId),
      ["m1"],
    );
    assert.deepEqual(await f.queue.page(f.bobLaptop, 0), []);
  });

  test("queues nothing for a device whose user is no longer a member (RELAY-7)", async (t) => {
    const f = await fixture(t);
    assert.equal(await f.queue.enqueue(new Set([f.alice.userId]), f.message()), 1, "alice's phone only");
    assert.deepEqual(await f.queue.page(f.bobPhone, 0), []);
  });

  test("drops the oldest entries beyond the cap and tells the device once (RELAY-5, RELAY-6)", async (t) => {
    const f = await fixture(t, { maxPerDevice: 2 });
    for (let i = 0; i < 5; i++) await f.queue.enqueue(f.members, f.message());
    assert.deepEqual(
      (await f.queue.page(f.bobPhone, 0)).map((e) => e.messageId),
      ["m4", "m5"],
    );
    assert.deepEqual(JSON.parse(String(await f.queue.missedFrame(f.bobPhone))), {
      type: "queue.missed",
      dropped: 3,
    });
    assert.equal(await f.queue.missedFrame(f.bobPhone), undefined);
  });

  test("pages after a seq, forgets acknowledged and expired entries (RELAY-6)", async (t) => {
    const f = await fixture(t, { ttlMs: 1000 });
    await f.queue.enqueue(f.members, f.message());
    await f.queue.enqueue(f.members, f.message());
    const [first, second] = await f.queue.page(f.bobPhone, 0);
    assert.deepEqual(
      (await f.queue.page(f.bobPhone, first?.seq ?? 0)).map((e) => e.seq),
      [second?.seq],
    );
    await f.queue.ack(f.bobPhone, first?.seq ?? 0);
    assert.deepEqual(
      (await f.queue.page(f.bobPhone, 0)).map((e) => e.messageId),
      ["m2"],
    );
    f.tick(1001);
    assert.deepEqual(await f.queue.page(f.bobPhone, 0), []);
  });

  test("dropRoom deletes the room's entries for every device of the user", async (t) => {
    const f = await fixture(t);
    await f.queue.enqueue(f.members, f.message());
    await f.queue.dropRoom(f.bob.userId, asRoomId("ROOM01"));
    assert.deepEqual(await f.queue.page(f.bobPhone, 0), []);
    assert.deepEqual(await f.queue.page(f.bobLaptop, 0), []);
    assert.equal((await f.queue.page(f.alicePhone, 0)).length, 1);
  });

  test("refuses options that would keep nothing", async (t) => {
    const storage = await tempStorage(t);
    const bus = new MemoryBus();
    assert.throws(() => new OfflineQueue({ storage, bus, ttlMs: 1000, maxPerDevice: 0 }), RangeError);
    assert.throws(() => new OfflineQueue({ storage, bus, ttlMs: 0, maxPerDevice: 1 }), RangeError);
  });
});
