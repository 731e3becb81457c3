import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import { asRoomId, asUserId, type RoomId, type UserId } from "../domain/ids.js";
import type { DeviceRef } from "./delivery-store.js";
import type { OfflineMessage } from "./offline-queue-store.js";
import { openPostgresStorage } from "./postgres.js";
import { openSqliteStorage } from "./sqlite.js";
import type { Storage } from "./storage.js";
import { describePostgres, TestSchemas, TestSqliteFiles } from "./test-databases.js";

// Past 2^32 ms, so a time truncated to 32 bits or returned as a string would show.
const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

/** The offline queue's contract (RELAY-5..7), run on every backend. */
function offlineQueueContract(
  newLocation: () => Promise<string>,
  open: (location: string) => Promise<Storage>,
): void {
  async function fresh(t: TestContext) {
    const location = await newLocation();
    const s = await open(location);
    t.after(() => s.close());
    const alice = await user(s, "alice");
    const bob = await user(s, "bob");
    const room = await roomOf(s, "ROOM01", alice);
    const bobPhone = await device(s, bob, "phone");
    const bobLaptop = await device(s, bob, "laptop");
    return { s, q: s.offlineQueue, alice, bob, room, bobPhone, bobLaptop, location };
  }

  async function user(s: Storage, name: string): Promise<UserId> {
    const id = asUserId(`u-${name}`);
    await s.createUser({ id, username: name, passwordHash: "h", isAdmin: false, createdAt: T0 });
    return id;
  }

  async function roomOf(s: Storage, id: string, owner: UserId): Promise<RoomId> {
    const roomId = asRoomId(id);
    await s.createRoom({
      id: roomId,
      kind: "room",
      name: id,
      topic: null,
      isPublic: false,
      ownerId: owner,
      pairKey: null,
      createdAt: T0,
    });
    return roomId;
  }

  let keys = 0;
  async function device(s: Storage, userId: UserId, deviceId: string): Promise<DeviceRef> {
    await s.delivery.addDevice({ userId, deviceId, signatureKey: `key-${keys++}`, createdAt: T0 });
    return { userId, deviceId };
  }

  function message(roomId: RoomId, from: UserId, n: number, payload = `Y2lwaGVy${n}A==`): OfflineMessage {
    return { roomId, messageId: `m${n}`, from: { userId: from, username: "alice" }, ts: T0 + n, payload };
  }

  test("queues a message for each device and returns it byte for byte, oldest first", async (t) => {
    const { q, alice, room, bobPhone, bobLaptop } = await fresh(t);
    const payloads = ["AAECAwQ=", "_-8=", "AQ", "not base64 at all?"];
    for (const [n, payload] of payloads.entries()) {
      assert.equal(
        await q.enqueue({
          to: [bobPhone, bobLaptop],
          message: message(room, alice, n, payload),
          expiresAt: T0 + DAY,
          maxPerDevice: 10,
        }),
        2,
      );
    }
    for (const ref of [bobPhone, bobLaptop]) {
      const got = await q.pending(ref, 0, 10, T0);
      assert.deepEqual(
        got.map((e) => e.payload),
        payloads,
      );
      assert.deepEqual(
        got.map((e) => e.seq),
        [1, 2, 3, 4],
      );
      assert.deepEqual(got[0], {
        seq: 1,
        roomId: room,
        messageId: "m0",
        from: { userId: alice, username: "alice" },
        ts: T0,
        payload: "AAECAwQ=",
        expiresAt: T0 + DAY,
      });
    }
  });

  test("pages after a seq and stops at the limit", async (t) => {
    const { q, alice, room, bobPhone } = await fresh(t);
    for (let n = 1; n <= 5; n++) {
      await q.enqueue({
        to: [bobPhone],
        message: message(room, alice, n),
        expiresAt: T0 + DAY,
        maxPerDevice: 10,
      });
    }
    assert.deepEqual(
      (await q.pending(bobPhone, 2, 2, T0)).map((e) => e.messageId),
      ["m3", "m4"],
    );
  });

  test("an ack deletes up to and including its seq, for that device only", async (t) => {
    const { q, alice, room, bobPhone, bobLaptop } = await fresh(t);
    for (let n = 1; n <= 3; n++) {
      await q.enqueue({
        to: [bobPhone, bobLaptop],
        message: message(room, alice, n),
        expiresAt: T0 + DAY,
        maxPerDevice: 10,
      });
    }
    assert.equal(await q.ack(bobPhone, 2), 2);
    assert.deepEqual(
      (await q.pending(bobPhone, 0, 10, T0)).map((e) => e.seq),
      [3],
    );
    assert.equal(await q.count(bobLaptop), 3);
    // Seqs are never reused after an ack.
    await q.enqueue({
      to: [bobPhone],
      message: message(room, alice, 4),
      expiresAt: T0 + DAY,
      maxPerDevice: 10,
    });
    assert.deepEqual(
      (await q.pending(bobPhone, 0, 10, T0)).map((e) => e.seq),
      [3, 4],
    );
  });

  test("a full queue drops its oldest entries and counts them once", async (t) => {
    const { q, alice, room, bobPhone, bobLaptop } = await fresh(t);
    for (let n = 1; n <= 7; n++) {
      await q.enqueue({
        to: [bobPhone, bobLaptop],
        message: message(room, alice, n),
        expiresAt: T0 + DAY,
        maxPerDevice: n <= 5 ? 5 : 3,
      });
    }
    assert.deepEqual(
      (await q.pending(bobPhone, 0, 10, T0)).map((e) => e.messageId),
      ["m5", "m6", "m7"],
    );
    assert.equal(await q.takeDropped(bobPhone), 4);
    assert.equal(await q.takeDropped(bobPhone), 0, "the count resets once read");
    assert.equal(await q.takeDropped(bobLaptop), 4);
  });

  test("expired entries are not returned and are deleted on read and by the sweep", async (t) => {
    const { q, alice, room, bobPhone, bobLaptop } = await fresh(t);
    await q.enqueue({
      to: [bobPhone, bobLaptop],
      message: message(room, alice, 1),
      expiresAt: T0 + 10,
      maxPerDevice: 10,
    });
    await q.enqueue({
      to: [bobPhone, bobLaptop],
      message: message(room, alice, 2),
      expiresAt: T0 + 20,
      maxPerDevice: 10,
    });
    assert.deepEqual(
      (await q.pending(bobPhone, 0, 10, T0 + 10)).map((e) => e.messageId),
      ["m2"],
    );
    assert.equal(await q.count(bobPhone), 1, "read purged the expired entry");
    assert.equal(await q.count(bobLaptop), 2);
    assert.equal(await q.purgeExpired(T0 + 20), 3);
    assert.equal(await q.count(bobLaptop), 0);
    assert.equal(await q.purgeExpired(T0 + 20), 0);
  });

  test("dropping a room removes only that user's entries of that room", async (t) => {
    const { s, q, alice, bob, room, bobPhone } = await fresh(t);
    const other = await roomOf(s, "ROOM02", alice);
    const carol = await user(s, "carol");
    const carolPhone = await device(s, carol, "phone");
    for (const r of [room, other]) {
      await q.enqueue({
        to: [bobPhone, carolPhone],
        message: message(r, alice, 1),
        expiresAt: T0 + DAY,
        maxPerDevice: 10,
      });
    }
    assert.equal(await q.dropRoom(bob, room), 1);
    assert.deepEqual(
      (await q.pending(bobPhone, 0, 10, T0)).map((e) => e.roomId),
      [other],
    );
    assert.equal(await q.count(carolPhone), 2);
  });

  test("a deleted room takes its queued entries along", async (t) => {
    const { s, q, alice, room, bobPhone } = await fresh(t);
    const carol = await user(s, "carol");
    const carolPhone = await device(s, carol, "phone");
    await q.enqueue({
      to: [bobPhone, carolPhone],
      message: message(room, alice, 1),
      expiresAt: T0 + DAY,
      maxPerDevice: 10,
    });
    await s.deleteRoom(room);
    assert.equal(await q.count(bobPhone), 0);
    assert.equal(await q.count(carolPhone), 0);
  });

  test("queues nothing for no devices and refuses a cap below one", async (t) => {
    const { q, alice, room, bobPhone } = await fresh(t);
    assert.equal(
      await q.enqueue({ to: [], message: message(room, alice, 1), expiresAt: T0 + DAY, maxPerDevice: 10 }),
      0,
    );
    await assert.rejects(
      q.enqueue({ to: [bobPhone], message: message(room, alice, 1), expiresAt: T0 + DAY, maxPerDevice: 0 }),
      RangeError,
    );
    assert.equal(await q.count(bobPhone), 0);
  });

  test("keeps queued entries, their order and the dropped count across a reopen", async (t) => {
    const { s, q, alice, room, bobPhone, location } = await fresh(t);
    for (let n = 1; n <= 3; n++) {
      await q.enqueue({
        to: [bobPhone],
        message: message(room, alice, n),
        expiresAt: T0 + DAY,
        maxPerDevice: 2,
      });
    }
    await s.close();
    const again = await open(location);
    t.after(() => again.close());
    assert.deepEqual(
      (await again.offlineQueue.pending(bobPhone, 0, 10, T0)).map((e) => [e.seq, e.messageId]),
      [
        [2, "m2"],
        [3, "m3"],
      ],
    );
    assert.equal(await again.offlineQueue.takeDropped(bobPhone), 1);
    await again.offlineQueue.enqueue({
      to: [bobPhone],
      message: message(room, alice, 4),
      expiresAt: T0 + DAY,
      maxPerDevice: 2,
    });
    assert.deepEqual(
      (await again.offlineQueue.pending(bobPhone, 0, 10, T0)).map((e) => e.seq),
      [3, 4],
    );
  });
}

describe("offline queue store on SQLite", () => {
  const files = new TestSqliteFiles("parley-offline-queue-");
  after(() => files.removeAll());
  offlineQueueContract(() => files.migratedEmpty(), openSqliteStorage);
});

describePostgres("offline queue store on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  offlineQueueContract(() => schemas.migratedEmpty(), openPostgresStorage);
});
