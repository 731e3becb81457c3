import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import pino from "pino";
import { asRoomId, asSessionId, asUserId } from "../domain/ids.js";
import type { ControlEvent } from "./bus.js";
import { deleteKeys, FakeSink } from "./bus-contract.js";
import {
  decodeEnvelope,
  decodeMessage,
  ENVELOPE_BATCH,
  ENVELOPE_DEVICE,
  ENVELOPE_USERS,
  encodeBatch,
  encodeEntry,
  encodeEnvelope,
} from "./envelope.js";
import { RedisBus, type RedisBusOptions } from "./redis-bus.js";

// The Redis bus against a real Redis (PARLEY_TEST_REDIS_URL). Each run works under its own key
// prefix and deletes its keys at the end; nothing here flushes or kills anything it did not make.

const REQUIRE_SERVICES = process.env.PARLEY_REQUIRE_SERVICES === "1";
const silent = pino({ level: "silent" });

function describeRedis(name: string, body: (url: string) => void): void {
  const url = process.env.PARLEY_TEST_REDIS_URL;
  if (url) describe(name, () => body(url));
  else if (REQUIRE_SERVICES)
    test(name, () => assert.fail("PARLEY_REQUIRE_SERVICES=1 but PARLEY_TEST_REDIS_URL is not set"));
  else describe(name, { skip: "PARLEY_TEST_REDIS_URL is not set" }, () => undefined);
}

async function keysUnder(admin: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== "0");
  return out;
}

/** Closes this node's bus connections from the server side, as a network failure would. */
async function killConnections(admin: Redis, nodeId: string): Promise<number> {
  const list = String(await admin.call("CLIENT", "LIST"));
  const ids = list
    .split("\n")
    .filter((line) => line.includes(` name=parley:${nodeId}:`))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await admin.call("CLIENT", "KILL", "ID", id);
  return ids.length;
}

/**
 * How long a wait may take before the test gives up. Not a timing bound: `eventually` returns as
 * soon as its condition holds, and CI machines are shared and loaded.
 */
const WAIT_MS = 20_000;

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Stands in for a server's connection registry. */
const FakeNode = FakeSink<RedisBus>;

describe("the Redis bus envelope", () => {
  test("carries recipients and frame bytes unchanged, binary included", () => {
    const frame = Buffer.from([0, 1, 2, 255, 10, 13, 0]);
    const users = decodeEnvelope(encodeEnvelope(ENVELOPE_USERS, { u: ["a", "b"], x: "conn" }, frame));
    assert.deepEqual(users, { kind: ENVELOPE_USERS, userIds: ["a", "b"], except: "conn", frame });
    const device = decodeEnvelope(encodeEnvelope(ENVELOPE_DEVICE, { u: "a", d: "phone" }, frame));
    assert.deepEqual(device, { kind: ENVELOPE_DEVICE, userId: "a", deviceId: "phone", frame });
  });

  test("refuses truncated, unknown or ill-typed envelopes", () => {
    const good = encodeEnvelope(ENVELOPE_USERS, { u: ["a"] }, Buffer.from("{}"));
    assert.equal(decodeEnvelope(good.subarray(0, 4)), null);
    assert.equal(decodeEnvelope(good.subarray(0, 8)), null);
    assert.equal(decodeEnvelope(encodeEnvelope(9, { u: ["a"] }, Buffer.alloc(0))), null);
    assert.equal(decodeEnvelope(encodeEnvelope(ENVELOPE_USERS, { u: "a" }, Buffer.alloc(0))), null);
    assert.equal(decodeEnvelope(encodeEnvelope(ENVELOPE_USERS, { u: [1] }, Buffer.alloc(0))), null);
    assert.equal(decodeEnvelope(encodeEnvelope(ENVELOPE_DEVICE, { u: "a" }, Buffer.alloc(0))), null);
    const notJson = Buffer.concat([Buffer.from([1, 0, 0, 0, 2]), Buffer.from("{x")]);
    assert.equal(decodeEnvelope(notJson), null);
  });

  const users = (userIds: string[], frame: Buffer, except?: string) => ({
    kind: ENVELOPE_USERS as typeof ENVELOPE_USERS,
    userIds: userIds.map(asUserId),
    ...(except === undefined ? {} : { except }),
    frame,
  });

  test("batches entries of bus protocol 2 in order, ids in any script and frames byte for byte", () => {
    const frame = Buffer.from([0, 1, 2, 255, 10, 13, 0]);
    const entries = [
      users(["a", "b"], frame, "conn-1"),
      {
        kind: ENVELOPE_DEVICE as typeof ENVELOPE_DEVICE,
        userId: asUserId("zoë"),
        deviceId: "téléphone",
        frame,
      },
      users([], Buffer.alloc(0)),
      users(["用户"], Buffer.from("{}")),
    ];
    const batch = encodeBatch(entries.map(encodeEntry));
    assert.equal(batch[0], ENVELOPE_BATCH);
    assert.deepEqual(decodeMessage(batch), entries);
    // Protocol 1 is still read, as one envelope.
    assert.deepEqual(decodeMessage(encodeEnvelope(ENVELOPE_USERS, { u: ["a"] }, frame)), [
      users(["a"], frame),
    ]);
  });

  test("refuses a damaged batch whole, and tells a newer protocol from garbage", () => {
    const good = encodeEntry(users(["alice", "bob"], Buffer.from("frame"), "c1"));
    const batch = encodeBatch([good, good]);
    assert.equal(decodeMessage(Buffer.alloc(0)), null);
    assert.equal(decodeMessage(Buffer.of(ENVELOPE_BATCH)), null, "an empty batch");
    for (let cut = 1; cut < batch.length; cut++) {
      // Cut at an entry boundary it is one whole entry; anywhere else nothing is delivered.
      const expected = cut === 1 + good.length ? 1 : null;
      const got = decodeMessage(batch.subarray(0, cut));
      assert.equal(got === null ? null : (got as unknown[]).length, expected, `cut at ${cut}`);
    }
    const badFlags = Buffer.from(good);
    badFlags[5] = 0x80;
    assert.equal(decodeMessage(encodeBatch([badFlags])), null);
    const badKind = Buffer.from(good);
    badKind[4] = 7;
    assert.equal(decodeMessage(encodeBatch([badKind])), null);
    const tooLong = Buffer.from(good);
    tooLong.writeUInt32BE(good.length, 0);
    assert.equal(decodeMessage(encodeBatch([tooLong])), null);
    const manyUsers = Buffer.from(good);
    manyUsers.writeUInt16BE(3, 6);
    assert.equal(decodeMessage(encodeBatch([manyUsers])), null, "more users than bytes");
    assert.equal(decodeMessage(Buffer.from([9, 0, 0])), "unknown");
    assert.equal(decodeMessage(Buffer.from([0, 0, 0])), "unknown");
  });

  test("refuses ids longer than an entry can carry", () => {
    assert.throws(() => encodeEntry(users(["x".repeat(70_000)], Buffer.alloc(0))), RangeError);
    assert.throws(() => encodeEntry(users(["a"], Buffer.alloc(0), "é".repeat(40_000))), RangeError);
  });
});

describe("RedisBus options", () => {
  const base = { url: "redis://127.0.0.1:1", log: silent, usernameOf: async () => undefined };

  test("refuses a node id that could not name a channel", () => {
    assert.throws(() => new RedisBus({ ...base, nodeId: "a b" }), {
      name: "TypeError",
      message: 'nodeId must be 1-64 of A-Z a-z 0-9 . _ -, got "a b"',
    });
    assert.throws(() => new RedisBus({ ...base, nodeId: "a|b" }), TypeError);
    assert.throws(() => new RedisBus({ ...base, nodeId: "" }), TypeError);
  });

  test("refuses a presence lifetime that a late heartbeat could outlive", () => {
    assert.throws(() => new RedisBus({ ...base, nodeId: "n1", heartbeatMs: 1000, presenceTtlMs: 2000 }), {
      name: "RangeError",
      message: "presenceTtlMs must be more than twice heartbeatMs",
    });
  });
});

describeRedis("RedisBus", (url) => {
  const prefix = `parley-test-${randomBytes(6).toString("hex")}:`;
  const admin = new Redis(url);
  const buses: RedisBus[] = [];
  after(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  const HEARTBEAT_MS = 100;
  const TTL_MS = 400;
  /** For tests of the message path: a stalled event loop on a loaded machine must not expire a node. */
  const STEADY = { presenceTtlMs: 30_000 };

  async function node(options: Partial<RedisBusOptions> = {}, suffix = "") {
    const bus = new RedisBus({
      url,
      nodeId: `n${randomBytes(4).toString("hex")}`,
      log: silent,
      keyPrefix: `${prefix}${suffix}`,
      heartbeatMs: HEARTBEAT_MS,
      presenceTtlMs: TTL_MS,
      usernameOf: async (id) => `name-${id}`,
      ...options,
    });
    buses.push(bus);
    const fake = new FakeNode(bus);
    assert.ok(await bus.waitUntilReady(5000), "bus ready");
    return fake;
  }

  /** Three nodes on a prefix of their own, so presence from other tests cannot interfere. */
  async function cluster(options: Partial<RedisBusOptions> = {}) {
    const suffix = `${randomBytes(3).toString("hex")}:`;
    return Promise.all([node(options, suffix), node(options, suffix), node(options, suffix)]);
  }

  test("delivers to a user on another node, and to local users without a Redis round trip", async () => {
    const [a, b] = await cluster();
    await a.connect("alice");
    await b.connect("bob");
    a.bus.deliver([asUserId("alice"), asUserId("bob")], Buffer.from('{"type":"x","n":1}'));
    // Local delivery is synchronous: it happened before deliver() returned.
    assert.deepEqual(a.framesFor("alice"), ['{"type":"x","n":1}']);
    await eventually(() => b.framesFor("bob").length === 1, WAIT_MS, "delivered on b");
    assert.deepEqual(b.framesFor("bob"), ['{"type":"x","n":1}']);
    assert.deepEqual(a.framesFor("bob"), [], "bob is not on a");
    assert.deepEqual(b.framesFor("alice"), [], "alice is not on b");
  });

  test("skips the sending connection wherever the user is", async () => {
    const [a, b] = await cluster();
    const first = await a.connect("carol");
    await b.connect("carol");
    a.bus.deliver([asUserId("carol")], Buffer.from("m"), first.connectionId);
    await eventually(() => b.framesFor("carol").length === 1, WAIT_MS, "delivered on b");
    assert.deepEqual(a.framesFor("carol"), []);
  });

  test("publishes only to nodes that host a recipient", async () => {
    const [a, b, c] = await cluster();
    await a.connect("dave");
    await b.connect("erin");
    await c.connect("frank");
    a.bus.deliver([asUserId("erin")], Buffer.from("for erin"));
    a.bus.deliver([asUserId("frank")], Buffer.from("for frank"));
    await eventually(() => c.framesFor("frank").length === 1, WAIT_MS, "delivered on c");
    // One publisher connection keeps order: had c been sent the first frame, it would be here.
    assert.deepEqual(
      c.received.map((r) => r.frame),
      ["for frank"],
    );
    await eventually(() => b.framesFor("erin").length === 1, WAIT_MS, "delivered on b");
  });

  test("sends a device's frame only to that device's connections", async () => {
    const [a, b] = await cluster();
    await b.connect("gina", "phone");
    await b.connect("gina", "laptop");
    a.bus.deliverToDevice(asUserId("gina"), "phone", Buffer.from("commit"));
    await eventually(() => b.received.length === 1, WAIT_MS, "delivered");
    const [got] = b.received;
    assert.equal(got?.frame, "commit");
    await sleep(50);
    assert.equal(b.received.length, 1, "the laptop got nothing");
  });

  test("counts a device as connected when it is here, or when its user has a socket on another live node", async () => {
    const [a, b, c] = await cluster();
    await a.connect("hank", "phone");
    await b.connect("ivy", "laptop");
    const gone = await c.connect("jon", "tablet");
    await c.disconnect("jon", gone.connectionId);
    const devices = [
      { userId: asUserId("hank"), deviceId: "phone" },
      { userId: asUserId("hank"), deviceId: "watch" },
      { userId: asUserId("ivy"), deviceId: "laptop" },
      { userId: asUserId("ivy"), deviceId: "phone" },
      { userId: asUserId("jon"), deviceId: "tablet" },
    ];
    // On a: hank's phone exactly; ivy is on b, so each of her devices may be (RELAY-5); jon is gone.
    assert.deepEqual([...(await a.bus.connectedDevices(devices))].sort(), [
      `hank\u0000phone`,
      `ivy\u0000laptop`,
      `ivy\u0000phone`,
    ]);
    assert.deepEqual([...(await a.bus.connectedDevices([]))], []);
  });

  test("counts a user's connections across nodes and reports each online transition once", async () => {
    const [a, b] = await cluster();
    const one = await a.connect("hank");
    assert.deepEqual([one.count, one.cameOnline], [1, true]);
    const two = await b.connect("hank");
    assert.deepEqual([two.count, two.cameOnline], [2, false]);
    assert.deepEqual(await a.disconnect("hank", one.connectionId), { wentOffline: false });
    assert.deepEqual(await b.disconnect("hank", two.connectionId), { wentOffline: true });
    assert.deepEqual(await b.disconnect("hank", two.connectionId), { wentOffline: false }, "closed twice");
  });

  test("lists the online users of every live node", async () => {
    const [a, b, c] = await cluster();
    await a.connect("ivan");
    await b.connect("judy");
    const online = await c.bus.onlineUserIds();
    assert.deepEqual([...online].sort(), ["ivan", "judy"]);
  });

  test("hands a control event to the local node at once and to every other node once", async () => {
    const [a, b, c] = await cluster();
    const event: ControlEvent = {
      type: "session.revoked",
      sessionId: asSessionId("s1"),
      reason: "session_revoked",
    };
    a.bus.publishControl(event);
    assert.deepEqual(a.controls, [event]);
    await eventually(() => b.controls.length === 1 && c.controls.length === 1, WAIT_MS, "delivered");
    a.bus.publishControl({ type: "membership.changed", roomId: asRoomId("ROOM42") });
    a.bus.publishControl({ type: "subscriptions.changed", userId: asUserId("kim") });
    await eventually(() => c.controls.length === 3, WAIT_MS, "delivered");
    assert.deepEqual(c.controls.slice(1), [
      { type: "membership.changed", roomId: "ROOM42" },
      { type: "subscriptions.changed", userId: "kim" },
    ]);
    await sleep(50);
    assert.equal(a.controls.length, 3, "a node ignores its own events coming back from Redis");
  });

  test("drops malformed messages on its channels, counts them, and keeps working", async () => {
    const [a, b] = await cluster(STEADY);
    await b.connect("liam");
    const publisher = new Redis(url);
    const good = encodeEntry({
      kind: ENVELOPE_USERS,
      userIds: [asUserId("liam")],
      frame: Buffer.from("forged"),
    });
    try {
      const channels = (await admin.call("PUBSUB", "CHANNELS", `${prefix}*`)) as string[];
      const nodeChannel = channels.find((ch) => ch.endsWith(`node:${b.bus.nodeId}`));
      assert.ok(nodeChannel);
      const controlChannel = nodeChannel.replace(/node:[^:]+$/, "control");
      await publisher.publish(nodeChannel, Buffer.from([1, 255, 255, 255, 255]));
      await publisher.publish(nodeChannel, Buffer.alloc(0));
      // A whole entry followed by a cut one: nothing of the batch is delivered.
      await publisher.publish(nodeChannel, encodeBatch([good, good.subarray(0, good.length - 1)]));
      await publisher.publish(nodeChannel, Buffer.from([ENVELOPE_BATCH, 0, 0, 0, 200, 1]));
      await publisher.publish(nodeChannel, Buffer.from([42, 1, 2, 3]));
      await publisher.publish(controlChannel, "{not json");
      await publisher.publish(controlChannel, JSON.stringify({ from: "x", event: { type: "__proto__" } }));
    } finally {
      await publisher.quit();
    }
    a.bus.deliver([asUserId("liam")], Buffer.from("still here"));
    await eventually(() => b.framesFor("liam").length === 1, WAIT_MS, "delivered");
    assert.deepEqual(b.framesFor("liam"), ["still here"]);
    assert.deepEqual(b.controls, []);
    assert.deepEqual(b.bus.dropped, { envelope: 4, version: 1, control: 2 });
    assert.equal(b.bus.healthy(), true);
  });

  test("sends one message per other node for a tick's frames, whatever their number", async () => {
    const [a, b, c] = await cluster(STEADY);
    await b.connect("bea");
    await c.connect("cy");
    const channels = (await admin.call("PUBSUB", "CHANNELS", `${prefix}*`)) as string[];
    const toB = channels.find((ch) => ch.endsWith(`node:${b.bus.nodeId}`)) as string;
    const toC = channels.find((ch) => ch.endsWith(`node:${c.bus.nodeId}`)) as string;
    const listener = new Redis(url);
    const seen: { channel: string; message: Buffer }[] = [];
    listener.on("messageBuffer", (channel: Buffer, message: Buffer) =>
      seen.push({ channel: channel.toString(), message }),
    );
    try {
      await listener.subscribe(toB, toC);
      for (let i = 0; i < 40; i++) a.bus.deliver([asUserId("bea"), asUserId("cy")], Buffer.from(`r${i}`));
      a.bus.deliverToDevice(asUserId("bea"), "phone", Buffer.from("d"));
      await eventually(
        () => b.framesFor("bea").length === 40 && c.framesFor("cy").length === 40,
        WAIT_MS,
        "delivered",
      );
      await sleep(50);
      assert.deepEqual(seen.map((s) => s.channel).sort(), [toB, toC].sort());
      const forB = decodeMessage((seen.find((s) => s.channel === toB) as { message: Buffer }).message);
      assert.ok(Array.isArray(forB));
      assert.equal(forB.length, 41, "c's batch has no device frame for bea; b's has it");
      const forC = decodeMessage((seen.find((s) => s.channel === toC) as { message: Buffer }).message);
      assert.ok(Array.isArray(forC));
      assert.equal(forC.length, 40);
    } finally {
      await listener.quit();
    }
  });

  test("speaks bus protocol 1 while a server of that version is alive, and 2 again once it left", async () => {
    const suffix = `${randomBytes(3).toString("hex")}:`;
    const p = `${prefix}${suffix}`;
    const lines: { event?: string; node?: string; protocol?: number }[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const a = await node({ ...STEADY, log }, suffix);
    await a.connect("ann");
    // A server of the previous version, as it registers itself: a bare alive token, its presence.
    const old = `old${randomBytes(3).toString("hex")}`;
    await admin.set(`${p}node-alive:${old}`, randomBytes(8).toString("hex"), "PX", 60_000);
    await admin.sadd(`${p}nodes`, old);
    await admin.hset(`${p}presence:otto`, `${old}|c1`, old);
    await admin.sadd(`${p}node-users:${old}`, "otto");
    const listener = new Redis(url);
    const got: Buffer[] = [];
    listener.on("messageBuffer", (_channel: Buffer, message: Buffer) => got.push(message));
    const publisher = new Redis(url);
    try {
      await listener.subscribe(`${p}node:${old}`);
      await eventually(
        () => lines.some((l) => l.event === "bus_protocol_mixed" && l.node === old),
        WAIT_MS,
        "noticed",
      );
      assert.equal(lines.find((l) => l.event === "bus_protocol_mixed")?.protocol, 1);
      a.bus.deliver([asUserId("otto"), asUserId("ann")], Buffer.from("hello old"));
      a.bus.deliverToDevice(asUserId("otto"), "phone", Buffer.from("commit"));
      await eventually(() => got.length === 2, WAIT_MS, "two messages for the old server");
      // What a server of protocol 1 reads: one envelope per message, JSON header.
      assert.deepEqual(decodeEnvelope(got[0] as Buffer), {
        kind: ENVELOPE_USERS,
        userIds: ["otto", "ann"],
        frame: Buffer.from("hello old"),
      });
      assert.deepEqual(decodeEnvelope(got[1] as Buffer), {
        kind: ENVELOPE_DEVICE,
        userId: "otto",
        deviceId: "phone",
        frame: Buffer.from("commit"),
      });
      // And this server reads what the old one sends.
      await publisher.publish(
        `${p}node:${a.bus.nodeId}`,
        encodeEnvelope(ENVELOPE_USERS, { u: ["ann"] }, Buffer.from("from old")),
      );
      await eventually(() => a.framesFor("ann").includes("from old"), WAIT_MS, "read protocol 1");
      // The old server stops; once it is swept, frames go out in batches again.
      await admin.del(`${p}node-alive:${old}`);
      await eventually(
        () => lines.some((l) => l.event === "bus_protocol_uniform"),
        WAIT_MS,
        "back to one protocol",
      );
      await admin.hset(`${p}presence:otto`, `${old}|c2`, old);
      got.length = 0;
      a.bus.deliver([asUserId("otto")], Buffer.from("new again"));
      const isNew = (m: Buffer) => {
        const envelopes = decodeMessage(m);
        return Array.isArray(envelopes) && envelopes.some((e) => e.frame.toString() === "new again");
      };
      await eventually(() => got.some(isNew), WAIT_MS, "published");
      assert.equal(got.find(isNew)?.[0], ENVELOPE_BATCH, "a batch of protocol 2");
    } finally {
      await listener.quit();
      await publisher.quit();
    }
  });

  test("writes frames to no key: a canary payload is found nowhere under the prefix", async () => {
    const [a, b] = await cluster();
    const canary = `canary-${randomBytes(8).toString("hex")}`;
    await a.connect("mia");
    await b.connect("noah", "tablet");
    a.bus.deliver([asUserId("mia"), asUserId("noah")], Buffer.from(canary));
    a.bus.deliverToDevice(asUserId("noah"), "tablet", Buffer.from(canary));
    await eventually(() => b.received.length === 2, WAIT_MS, "delivered");
    for (const key of await keysUnder(admin, prefix)) {
      const type = await admin.type(key);
      const dump =
        type === "string"
          ? await admin.get(key)
          : type === "hash"
            ? await admin.hgetall(key)
            : type === "set"
              ? await admin.smembers(key)
              : `unexpected type ${type}`;
      assert.ok(!JSON.stringify(dump).includes(canary), `${key} holds the canary`);
      assert.ok(!key.includes(canary));
    }
  });

  test("a crashed node's users go offline once its presence expires, announced once", async () => {
    const [a, b, c] = await cluster({ retryDelayMs: () => null });
    await a.connect("olga");
    await b.connect("pete");
    await c.connect("quinn");
    assert.ok((await killConnections(admin, a.bus.nodeId)) >= 2);
    // Nobody tells the survivors: only the crashed node's alive key expiring can (no timing
    // bound is asserted; the wait is generous for a loaded machine).
    await eventually(
      async () => !(await b.bus.onlineUserIds()).has(asUserId("olga")),
      WAIT_MS,
      "olga offline",
    );
    await eventually(
      () => b.presence("olga").length === 1 && c.presence("olga").length === 1,
      WAIT_MS,
      "offline announced",
    );
    await sleep(3 * HEARTBEAT_MS);
    assert.deepEqual(b.presence("olga"), [
      { type: "presence", userId: "olga", username: "name-olga", online: false },
    ]);
    assert.equal(c.presence("olga").length, 1, "one survivor announced it, once");
    assert.deepEqual([...(await c.bus.onlineUserIds())].sort(), ["pete", "quinn"]);
  });

  test("a node back after an outage longer than the TTL puts its users online again", async () => {
    const [a, b] = await cluster({ retryDelayMs: () => TTL_MS * 3 });
    await a.connect("rita");
    await b.connect("sam");
    await killConnections(admin, a.bus.nodeId);
    await eventually(() => !a.bus.healthy(), WAIT_MS, "a unhealthy");
    // Meanwhile a still serves its own users.
    a.bus.deliver([asUserId("rita")], Buffer.from("local"));
    assert.deepEqual(a.framesFor("rita"), ["local"]);
    await eventually(() => b.presence("rita").some((p) => !p.online), WAIT_MS, "rita offline on b");
    await eventually(() => a.bus.healthy(), WAIT_MS, "a healthy again");
    await eventually(() => b.presence("rita").some((p) => p.online), WAIT_MS, "rita online again on b");
    assert.ok((await b.bus.onlineUserIds()).has(asUserId("rita")));
    b.bus.deliver([asUserId("rita")], Buffer.from("welcome back"));
    await eventually(() => a.framesFor("rita").includes("welcome back"), WAIT_MS, "delivered to a");
  });

  test("keeps control events published during an outage and sends them when Redis is back", async () => {
    const [a, b] = await cluster({ retryDelayMs: () => 300 });
    await killConnections(admin, a.bus.nodeId);
    await eventually(() => !a.bus.healthy(), WAIT_MS, "a unhealthy");
    const event: ControlEvent = {
      type: "session.revoked",
      sessionId: asSessionId("s2"),
      reason: "session_revoked",
    };
    a.bus.publishControl(event);
    assert.deepEqual(a.controls, [event], "handled locally at once");
    await eventually(() => b.controls.length === 1, WAIT_MS, "delivered after the reconnect");
    assert.deepEqual(b.controls, [event]);
  });

  test("logs one redis_down and one redis_up per connection and outage", async () => {
    const lines: { event?: string; role?: string }[] = [];
    const log = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const a = await node({ log, retryDelayMs: () => 200 });
    await killConnections(admin, a.bus.nodeId);
    await eventually(() => !a.bus.healthy(), WAIT_MS, "a unhealthy");
    await eventually(() => a.bus.healthy(), WAIT_MS, "a healthy again");
    const events = lines.filter((l) => l.event === "redis_down" || l.event === "redis_up");
    assert.deepEqual(events.map((l) => `${l.event}/${l.role}`).sort(), [
      "redis_down/pub",
      "redis_down/sub",
      "redis_up/pub",
      "redis_up/sub",
    ]);
  });

  test("a restarted node under the same id clears its predecessor's presence at once", async () => {
    const suffix = `${randomBytes(3).toString("hex")}:`;
    const nodeId = `n${randomBytes(4).toString("hex")}`;
    const long = { retryDelayMs: () => null, heartbeatMs: 1000, presenceTtlMs: 30_000 };
    const first = await node({ ...long, nodeId }, suffix);
    const other = await node(long, suffix);
    await first.connect("tara");
    await other.connect("uma");
    await killConnections(admin, nodeId);
    const second = await node({ ...long, nodeId }, suffix);
    await eventually(
      async () => !(await other.bus.onlineUserIds()).has(asUserId("tara")),
      15_000,
      "tara offline well before the 30 s TTL",
    );
    await eventually(() => other.presence("tara").length === 1, WAIT_MS, "offline announced");
    const again = await second.connect("tara");
    assert.deepEqual([again.count, again.cameOnline], [1, true]);
  });
});
