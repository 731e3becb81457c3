import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { MemoryBus } from "../bus/memory-bus.js";
import { openSqliteStorage } from "../storage/sqlite.js";
import type { Storage } from "../storage/storage.js";
import type { AuthContext } from "./accounts.js";
import { DeviceStreams, type DeviceStreamsOptions } from "./device-stream.js";
import { asRoomId, asSessionId, asUserId, type RoomId, type UserId } from "./ids.js";
import { OfflineQueue, QUEUE_PAGE } from "./offline-queue.js";

const T0 = 1_700_000_000_000;

interface Sent {
  type: string;
  seq?: number;
  room?: string;
  dropped?: number;
}

/** A real SQLite store in a temp dir, a user with a device, two rooms they are in. */
async function fixture(t: TestContext, opts: { queue?: boolean; registered?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "parley-device-stream-"));
  const storage = await openSqliteStorage(join(dir, "parley.db"));
  t.after(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });
  const bob = asUserId("u-bob");
  const alice = asUserId("u-alice");
  for (const [id, username] of [
    [alice, "alice"],
    [bob, "bob"],
  ] as const) {
    await storage.createUser({ id, username, passwordHash: "h", isAdmin: false, createdAt: T0 });
  }
  const rooms = [asRoomId("ROOMAA"), asRoomId("ROOMBB")];
  for (const roomId of rooms) {
    await storage.createRoom({
      id: roomId,
      kind: "room",
      name: roomId,
      topic: null,
      isPublic: false,
      ownerId: alice,
      pairKey: null,
      createdAt: T0,
    });
    await storage.addMember(roomId, alice, "owner", T0);
    await storage.addMember(roomId, bob, "member", T0);
  }
  await storage.delivery.addDevice({ userId: bob, deviceId: "phone", signatureKey: "k", createdAt: T0 });

  const handshakes = ["hs-1", "hs-2"];
  const handshakeAcks: number[] = [];
  const queueSent: number[] = [];
  const delivery: DeviceStreamsOptions["delivery"] = {
    pendingFrames: async () => handshakes.map((h) => Buffer.from(JSON.stringify({ type: h }))),
    ack: async (_auth, _deviceId, upTo) => {
      handshakeAcks.push(upTo);
    },
    isRegistered: async () => opts.registered ?? true,
  };
  const offlineQueue =
    opts.queue === false
      ? undefined
      : new OfflineQueue({ storage, bus: new MemoryBus(), ttlMs: 86_400_000, maxPerDevice: 1000 });
  const streams = new DeviceStreams({
    delivery,
    offlineQueue,
    isMember: (roomId, userId) => storage.isMember(roomId, userId),
    counters: { queueSent: { inc: (n) => queueSent.push(n) } },
  });
  const auth: AuthContext = {
    userId: bob,
    username: "bob",
    sessionId: asSessionId("s-bob"),
    isAdmin: false,
  };
  const sent: Sent[] = [];
  const out = { closed: false, send: (frame: Buffer) => sent.push(JSON.parse(frame.toString("utf8"))) };
  const stream = streams.open(auth, "phone", out);
  let n = 0;
  /** Queues `count` messages of `roomId` for bob's phone; returns their seqs. */
  async function queue(roomId: RoomId, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      n++;
      await storage.offlineQueue.enqueue({
        to: [{ userId: bob, deviceId: "phone" }],
        message: {
          roomId,
          messageId: `m${n}`,
          from: { userId: alice, username: "alice" },
          ts: T0 + n,
          payload: "AAEC",
        },
        expiresAt: Date.now() + 86_400_000,
        maxPerDevice: 1000,
      });
    }
  }
  const queued = () => sent.filter((f) => f.type === "message");
  const held = () => storage.offlineQueue.count({ userId: bob, deviceId: "phone" });
  return {
    storage,
    streams,
    stream,
    out,
    sent,
    queued,
    queue,
    held,
    rooms,
    bob,
    alice,
    handshakeAcks,
    queueSent,
  };
}

async function leave(storage: Storage, roomId: RoomId, userId: UserId): Promise<void> {
  assert.equal(await storage.removeMember(roomId, userId), true);
}

describe("DeviceStream", () => {
  test("sends the handshake backlog before the queue's first page (MLS-8, RELAY-6)", async (t) => {
    const f = await fixture(t);
    await f.queue(f.rooms[0] as RoomId, 3);
    await f.stream.start();
    assert.deepEqual(
      f.sent.map((s) => s.type),
      ["hs-1", "hs-2", "message", "message", "message"],
    );
    assert.deepEqual(
      f.queued().map((m) => m.seq),
      [1, 2, 3],
    );
    assert.deepEqual(f.queueSent, [3]);
  });

  test("tells the device how many entries the cap dropped, before the page", async (t) => {
    const f = await fixture(t);
    for (let i = 0; i < 3; i++) {
      await f.storage.offlineQueue.enqueue({
        to: [{ userId: f.bob, deviceId: "phone" }],
        message: {
          roomId: f.rooms[0] as RoomId,
          messageId: `c${i}`,
          from: { userId: f.alice, username: "alice" },
          ts: T0,
          payload: "AA",
        },
        expiresAt: Date.now() + 60_000,
        maxPerDevice: 1,
      });
    }
    await f.stream.start();
    assert.deepEqual(
      f.sent.map((s) => s.type),
      ["hs-1", "hs-2", "queue.missed", "message"],
    );
    assert.equal(f.sent[2]?.dropped, 2);
  });

  test("sends one page at a time and the next only once everything sent is acknowledged", async (t) => {
    const f = await fixture(t);
    await f.queue(f.rooms[0] as RoomId, QUEUE_PAGE + 20);
    await f.stream.start();
    assert.equal(f.queued().length, QUEUE_PAGE);
    await f.stream.ackQueue(50);
    assert.equal(f.queued().length, QUEUE_PAGE, "a partial ack brings no page");
    assert.equal(await f.held(), QUEUE_PAGE + 20 - 50);
    await f.stream.ackQueue(QUEUE_PAGE);
    assert.deepEqual(
      f
        .queued()
        .slice(QUEUE_PAGE)
        .map((m) => m.seq),
      Array.from({ length: 20 }, (_, i) => QUEUE_PAGE + 1 + i),
    );
    await f.stream.ackQueue(QUEUE_PAGE + 20);
    assert.equal(await f.held(), 0);
    assert.equal(f.queued().length, QUEUE_PAGE + 20, "nothing is sent twice");
  });

  test("starts the queue once per connection but resends the handshake backlog", async (t) => {
    const f = await fixture(t);
    await f.queue(f.rooms[0] as RoomId, 2);
    await f.stream.start();
    await f.stream.start();
    assert.deepEqual(
      f.sent.map((s) => s.type),
      ["hs-1", "hs-2", "message", "message", "hs-1", "hs-2"],
    );
  });

  test("drops instead of sending the entries of a room the user left (RELAY-7)", async (t) => {
    const f = await fixture(t);
    const [kept, left] = f.rooms as [RoomId, RoomId];
    await f.queue(kept, 1);
    await f.queue(left, 2);
    await f.queue(kept, 1);
    await leave(f.storage, left, f.bob);
    await f.stream.start();
    assert.deepEqual(
      f.queued().map((m) => [m.room, m.seq]),
      [
        [kept, 1],
        [kept, 4],
      ],
    );
    await f.stream.ackQueue(4);
    assert.equal(await f.held(), 0, "the left room's entries were deleted, not kept");
  });

  test("skips a page that RELAY-7 emptied and sends the next one", async (t) => {
    const f = await fixture(t);
    const [kept, left] = f.rooms as [RoomId, RoomId];
    await f.queue(left, QUEUE_PAGE + 5);
    await f.queue(kept, 2);
    await leave(f.storage, left, f.bob);
    await f.stream.start();
    assert.deepEqual(
      f.queued().map((m) => m.seq),
      [QUEUE_PAGE + 6, QUEUE_PAGE + 7],
    );
  });

  test("memberGone deletes the room's entries for every device of the user", async (t) => {
    const f = await fixture(t);
    await f.queue(f.rooms[0] as RoomId, 2);
    await f.queue(f.rooms[1] as RoomId, 1);
    await f.streams.memberGone(f.bob, f.rooms[0] as RoomId);
    assert.equal(await f.held(), 1);
  });

  test("entries written later go out at once when no page is outstanding, else after its ack", async (t) => {
    const f = await fixture(t);
    await f.stream.queueWritten();
    assert.equal(f.sent.length, 0, "nothing before the stream started");
    await f.stream.start();
    await f.queue(f.rooms[0] as RoomId, 1);
    await f.stream.queueWritten();
    assert.deepEqual(
      f.queued().map((m) => m.seq),
      [1],
    );
    await f.queue(f.rooms[0] as RoomId, 1);
    await f.stream.queueWritten();
    assert.equal(f.queued().length, 1, "page 1 is still unacknowledged");
    await f.stream.ackQueue(1);
    assert.deepEqual(
      f.queued().map((m) => m.seq),
      [1, 2],
    );
  });

  test("stops paging once the connection closes", async (t) => {
    const f = await fixture(t);
    await f.queue(f.rooms[0] as RoomId, 2);
    f.out.closed = true;
    await f.stream.start();
    assert.equal(f.queued().length, 0);
    assert.equal(await f.held(), 2, "nothing is lost: the entries wait for the next connection");
  });

  test("with the queue off, sends only handshakes and takes queue acks harmlessly", async (t) => {
    const f = await fixture(t, { queue: false });
    await f.stream.start();
    await f.stream.ackQueue(10);
    assert.deepEqual(
      f.sent.map((s) => s.type),
      ["hs-1", "hs-2"],
    );
  });

  test("resume sends nothing to a device that is not registered", async (t) => {
    const f = await fixture(t, { registered: false });
    await f.queue(f.rooms[0] as RoomId, 1);
    await f.stream.resume();
    assert.equal(f.sent.length, 0);
  });

  test("hands handshake acks to the delivery service (MLS-6)", async (t) => {
    const f = await fixture(t);
    await f.stream.ackHandshakes(7);
    assert.deepEqual(f.handshakeAcks, [7]);
  });
});
