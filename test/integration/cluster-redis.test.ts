import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  addMembers,
  createGroup,
  type DeviceIdentity,
  encryptApplicationMessage,
  exportGroupInfo,
  type GroupState,
  generateDeviceIdentity,
  generateKeyPackages,
  generateLastResortKeyPackage,
  groupEpoch,
  joinFromWelcome,
  type KeyPackageBundle,
  mergePendingCommit,
  processMessage,
  selfUpdate,
} from "@parley/crypto";
import { PROTOCOL_VERSION, type ServerFrame, type ServerFrameOf } from "@parley/protocol";
import type { Config } from "@parley/server";
import { Redis } from "ioredis";
import pg from "pg";
import type { RedisBusTuning } from "../../packages/server/src/bus/redis-bus.js";
import { TestSchemas } from "../../packages/server/src/storage/test-databases.js";
import {
  login,
  metricSum,
  registerUser,
  request,
  STRONG_PASSWORD,
  scrapeMetrics,
  startTestServer,
  type TestServer,
} from "./support/harness.js";
import { gateQueue } from "./support/queue-gate.js";
import { TcpRelay } from "./support/tcp-relay.js";
import { presenceOf, TestSocket } from "./support/ws-client.js";

// Issue 7, scale-out: two Parley servers in this process share one PostgreSQL schema (fresh per
// run) and one Redis (a key prefix per run, deleted at the end; nothing here flushes Redis or
// stops it). Each server has its own data dir and its own local CA; they share the JWT secret,
// as servers behind one load balancer must. Clients trust the CA of the server they talk to.

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL;
const DATABASE_URL = process.env.PARLEY_TEST_DATABASE_URL;
const REQUIRE_SERVICES = process.env.PARLEY_REQUIRE_SERVICES === "1";
const RUN_PREFIX = `parley-test-${randomBytes(6).toString("hex")}:`;

function describeCluster(name: string, body: (redisUrl: string, databaseUrl: string) => void): void {
  if (REDIS_URL && DATABASE_URL) {
    describe(name, () => body(REDIS_URL, DATABASE_URL));
  } else if (REQUIRE_SERVICES) {
    test(name, () => {
      assert.fail(
        "PARLEY_REQUIRE_SERVICES=1 but PARLEY_TEST_REDIS_URL or PARLEY_TEST_DATABASE_URL is not set",
      );
    });
  } else {
    describe(
      name,
      { skip: "PARLEY_TEST_REDIS_URL and PARLEY_TEST_DATABASE_URL are needed" },
      () => undefined,
    );
  }
}

// ------------------------------------------------------------------ helpers

const payload = (text: string) => Buffer.from(text).toString("base64");
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const bytes = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

function expectType<T extends ServerFrame["type"]>(frame: ServerFrame, type: T): ServerFrameOf<T> {
  assert.equal(frame.type, type, `expected ${type}, got ${JSON.stringify(frame)}`);
  return frame as ServerFrameOf<T>;
}

async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await sleep(25);
  }
}

const BASE: Partial<Config> = {
  frameRate: 1000,
  frameBurst: 1000,
  authRatePerMin: 100_000,
  bruteForceMaxFailures: 5,
  accountFreeFailures: 1_000_000,
  // The IDS test speaks for other addresses through X-Forwarded-For, as a load balancer would.
  trustedProxies: ["127.0.0.1"],
};

interface Pair {
  a: TestServer;
  b: TestServer;
  nodeA: string;
  nodeB: string;
  stop(): Promise<void>;
}

/** Two servers on one Redis prefix and one PostgreSQL schema, sharing the JWT secret. */
async function startPair(
  redisUrl: string,
  databaseUrl: string,
  redis: RedisBusTuning,
  overrides: Partial<Config> = {},
): Promise<Pair> {
  const nodeA = `a-${randomBytes(4).toString("hex")}`;
  const nodeB = `b-${randomBytes(4).toString("hex")}`;
  const config = { ...BASE, ...overrides, redisUrl, databaseUrl };
  const a = await startTestServer({ ...config, nodeId: nodeA }, { redis });
  const dirB = await mkdtemp(join(tmpdir(), "parley-test-"));
  try {
    await copyFile(join(a.dataDir, "jwt.secret"), join(dirB, "jwt.secret"));
    await chmod(join(dirB, "jwt.secret"), 0o600);
    const b = await startTestServer({ ...config, nodeId: nodeB }, { redis, dataDir: dirB });
    return {
      a,
      b,
      nodeA,
      nodeB,
      async stop() {
        await Promise.all([a.stop(), b.stop()]);
        await rm(dirB, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await a.stop();
    await rm(dirB, { recursive: true, force: true });
    throw e;
  }
}

/** How a socket closed, or a failure instead of a hang when it stays open. */
function closedWithin(socket: TestSocket, ms = 5000) {
  return Promise.race([
    socket.closed,
    sleep(ms).then(() => {
      throw new Error(`socket still open after ${ms} ms`);
    }),
  ]);
}

/** Every test here is bounded: a missing frame or close fails it instead of hanging the run. */
const BOUNDED = { timeout: 60_000 };

async function user(ts: TestServer) {
  const session = await registerUser(ts);
  const socket = await TestSocket.authed(ts, session.accessToken);
  return { session, socket, id: session.user.id, name: session.user.username };
}

async function readyz(ts: TestServer) {
  return request<{ ready: boolean; checks: Record<string, boolean> }>(ts, "GET", "/readyz");
}

async function deleteKeys(admin: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== "0");
}

/** Every key under the prefix with its whole value, as text. */
async function dumpKeys(admin: Redis, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      const type = await admin.type(key);
      let value: unknown;
      if (type === "string") value = await admin.get(key);
      else if (type === "hash") value = await admin.hgetall(key);
      else if (type === "set") value = await admin.smembers(key);
      else if (type === "zset") value = await admin.zrange(key, "0", "-1", "WITHSCORES");
      else if (type === "list") value = await admin.lrange(key, "0", "-1");
      else if (type === "stream") value = await admin.xrange(key, "-", "+");
      else value = type;
      out.set(key, JSON.stringify(value));
    }
  } while (cursor !== "0");
  return out;
}

/** Every row of every table in the schema the URL points at, as text. */
async function dumpDatabase(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = current_schema()",
    );
    assert.ok(tables.length > 5, "the schema has Parley's tables");
    const out: string[] = [];
    for (const { name } of tables) {
      const { rows } = await client.query<{ row: string }>(
        `select row_to_json(t)::text as row from ${pg.escapeIdentifier(name)} t`,
      );
      out.push(...rows.map((r) => `${name}: ${r.row}`));
    }
    return out;
  } finally {
    await client.end();
  }
}

/** Server-side ids of this node's Redis connections (bus and limiters), by connection name. */
async function connectionIds(admin: Redis, nodeId: string): Promise<string[]> {
  const list = String(await admin.call("CLIENT", "LIST"));
  return list
    .split("\n")
    .filter((line) => line.includes(` name=parley:${nodeId}:`))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
}

// ------------------------------------------------------------------ MLS devices (as in mls-delivery.test.ts)

interface Device {
  userId: string;
  deviceId: string;
  token: string;
  identity: DeviceIdentity;
  bundles: KeyPackageBundle[];
  socket: TestSocket;
}

async function newDevice(ts: TestServer): Promise<Device> {
  const session = await registerUser(ts);
  const userId = session.user.id;
  const deviceId = `dev${randomBytes(4).toString("hex")}`;
  const identity = await generateDeviceIdentity({ userId: userId, deviceId });
  const bundles = await generateKeyPackages(identity, 2);
  const last = await generateLastResortKeyPackage(identity);
  const socket = await TestSocket.open(ts);
  socket.send({ type: "auth", token: session.accessToken, protocolVersion: PROTOCOL_VERSION, deviceId });
  await socket.next("ready");
  const answer = await socket.call({
    type: "device.register",
    deviceId,
    signatureKey: b64(identity.signaturePublicKey),
    keyPackages: bundles.map((b) => b64(b.keyPackage)),
    lastResort: b64(last.keyPackage),
  });
  expectType(answer, "keypackages.count");
  return { userId, deviceId, token: session.accessToken, identity, bundles: [...bundles, last], socket };
}

async function commitFrame(roomId: string, pending: Awaited<ReturnType<typeof selfUpdate>>, extra = {}) {
  return {
    type: "mls.commit",
    roomId,
    epoch: Number(pending.epoch),
    commit: b64(pending.commit),
    groupInfo: b64(await exportGroupInfo(pending.newState)),
    ...(pending.welcome ? { welcome: b64(pending.welcome) } : {}),
    ...extra,
  };
}

// ------------------------------------------------------------------ the tests

describeCluster("two servers on one Redis and one PostgreSQL", (redisUrl, baseDatabaseUrl) => {
  const schemas = new TestSchemas(baseDatabaseUrl);
  const prefix = `${RUN_PREFIX}main:`;
  const admin = new Redis(redisUrl);
  let pair: Pair;
  let databaseUrl: string;
  before(async () => {
    databaseUrl = await schemas.create();
    pair = await startPair(redisUrl, databaseUrl, { keyPrefix: prefix });
  });
  after(async () => {
    await pair?.stop();
    await schemas.dropAll();
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  test("users on A and B share a room and exchange messages both ways", BOUNDED, async () => {
    const alice = await user(pair.a);
    const bob = await user(pair.b);
    const created = expectType(
      await alice.socket.call({ type: "room.create", name: "ops", isPublic: true }),
      "room",
    );
    expectType(await bob.socket.call({ type: "room.join", roomId: created.room.id }), "room");
    const joined = await alice.socket.next("room.event");
    assert.deepEqual([joined.event, joined.userId], ["joined", bob.id]);

    const ack = expectType(
      await alice.socket.call({
        type: "message.send",
        to: { room: created.room.id },
        payload: payload("a->b"),
      }),
      "ack",
    );
    const got = await bob.socket.next("message");
    assert.deepEqual([got.id, got.from.id, got.room], [ack.id, alice.id, created.room.id]);
    assert.equal(Buffer.from(got.payload, "base64").toString(), "a->b");

    await bob.socket.call({ type: "message.send", to: { room: created.room.id }, payload: payload("b->a") });
    const back = await alice.socket.next("message");
    assert.equal(Buffer.from(back.payload, "base64").toString(), "b->a");
    assert.ok(!(await bob.socket.settle()).some((f) => f.type === "message"), "no echo to the sender");
    alice.socket.close();
    bob.socket.close();
  });

  test(
    "a malformed message on a server's bus channel is dropped, counted, and changes nothing",
    BOUNDED,
    async () => {
      const drops = async () => metricSum(await scrapeMetrics(pair.b), "parley_bus_messages_dropped_total");
      const before = await drops();
      const alice = await user(pair.a);
      const bob = await user(pair.b);
      const publisher = new Redis(redisUrl);
      try {
        // Forged batch for bob, cut short: read whole or not at all. Then an unknown protocol.
        const forged = Buffer.from([3, 0, 0, 0, 40, 1, 0, 0, 1, 0, 36, ...Buffer.from(bob.id)]);
        await publisher.publish(`${prefix}node:${pair.nodeB}`, forged);
        await publisher.publish(`${prefix}node:${pair.nodeB}`, Buffer.from([77, 0]));
      } finally {
        await publisher.quit();
      }
      await eventually(async () => (await drops()) === before + 2, 10_000, "counted");
      assert.equal(
        metricSum(await scrapeMetrics(pair.b), "parley_bus_messages_dropped_total", { what: "version" }) >= 1,
        true,
      );
      await alice.socket.call({ type: "message.send", to: { user: bob.id }, payload: payload("still fine") });
      const got = await bob.socket.next("message");
      assert.equal(Buffer.from(got.payload, "base64").toString(), "still fine");
      assert.ok(!(await bob.socket.settle()).some((f) => f.type === "message"), "nothing forged arrived");
      alice.socket.close();
      bob.socket.close();
    },
  );

  test(
    "a direct message reaches the recipient and the sender's other devices on the other server",
    BOUNDED,
    async () => {
      const alice = await user(pair.a);
      const aliceOnB = await TestSocket.authed(pair.b, alice.session.accessToken);
      const bob = await user(pair.b);
      await alice.socket.call({ type: "message.send", to: { user: bob.id }, payload: payload("dm") });
      const [toBob, toAliceOnB] = await Promise.all([bob.socket.next("message"), aliceOnB.next("message")]);
      assert.equal(toBob.user, bob.id);
      assert.equal(toAliceOnB.id, toBob.id);
      for (const s of [alice.socket, aliceOnB, bob.socket]) s.close();
    },
  );

  test("presence crosses servers: online and offline, in /api/users and room members", BOUNDED, async () => {
    const alice = await user(pair.a);
    const bobSession = await registerUser(pair.b);
    const bob = await TestSocket.authed(pair.b, bobSession.accessToken);
    const online = await alice.socket.waitFor(
      (f) => presenceOf(f, bobSession.user.id)?.online === true,
      5000,
      "bob online",
    );
    assert.equal(presenceOf(online, bobSession.user.id)?.username, bobSession.user.username);
    const users = await request<{ users: { id: string; online: boolean }[] }>(pair.a, "GET", "/api/users", {
      token: alice.session.accessToken,
    });
    assert.equal(users.body.users.find((u) => u.id === bobSession.user.id)?.online, true);
    const room = expectType(
      await alice.socket.call({ type: "room.create", name: "lobby", isPublic: true }),
      "room",
    );
    await bob.call({ type: "room.join", roomId: room.room.id });
    const members = expectType(
      await alice.socket.call({ type: "room.members", roomId: room.room.id }),
      "members",
    );
    assert.equal(members.members.find((m) => m.userId === bobSession.user.id)?.online, true);

    bob.close();
    await alice.socket.waitFor(
      (f) => presenceOf(f, bobSession.user.id)?.online === false,
      5000,
      "bob offline",
    );
    const after = await request<{ users: { id: string; online: boolean }[] }>(pair.a, "GET", "/api/users", {
      token: alice.session.accessToken,
    });
    assert.equal(after.body.users.find((u) => u.id === bobSession.user.id)?.online, false);
    alice.socket.close();
  });

  test(
    "following a user on another server reaches the followed user's server (its follower cache is dropped there)",
    BOUNDED,
    async () => {
      const alice = await user(pair.a);
      const follower = await user(pair.b);
      const room = expectType(
        await alice.socket.call({ type: "room.create", name: "announcements", isPublic: true }),
        "room",
      );
      // A loads and caches alice's (empty) follower list on this post; the list never expires
      // by itself, so only the subscriptions.changed event from B can make A see the follower.
      await alice.socket.call({ type: "message.send", to: { room: room.room.id }, payload: payload("zero") });
      expectType(await follower.socket.call({ type: "subscribe", userId: alice.id }), "ok");
      // The event crosses Redis while alice may already be posting on A: retry for a bounded time.
      let n = 0;
      const got = await eventually(
        async () => {
          n += 1;
          await alice.socket.call({
            type: "message.send",
            to: { room: room.room.id },
            payload: payload(`${n}`),
          });
          return follower.socket.frames.find((f) => f.type === "message");
        },
        2000,
        "a followed post",
      );
      assert.equal(got.type === "message" && got.via, "subscription");
      alice.socket.close();
      follower.socket.close();
    },
  );

  test("3 failed logins on A and 3 on B block the IP on both", BOUNDED, async () => {
    const victim = await registerUser(pair.a);
    const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    const attempt = (ts: TestServer) =>
      request<{ code: string }>(ts, "POST", "/api/login", {
        body: { username: victim.user.username, password: "Wrong-Guess-1!x" },
        headers: { "x-forwarded-for": ip },
      });
    for (let i = 0; i < 3; i++) assert.equal((await attempt(pair.a)).status, 401, `A, failure ${i + 1}`);
    assert.equal((await attempt(pair.b)).status, 401, "B, failure 4");
    assert.equal((await attempt(pair.b)).status, 401, "B, failure 5 (the block starts after it)");
    const onB = await attempt(pair.b);
    assert.deepEqual([onB.status, onB.body.code], [403, "ip_blocked"]);
    const onA = await request<{ code: string }>(pair.a, "POST", "/api/login", {
      body: { username: victim.user.username, password: STRONG_PASSWORD },
      headers: { "x-forwarded-for": ip },
    });
    assert.deepEqual(
      [onA.status, onA.body.code],
      [403, "ip_blocked"],
      "the right password does not help either",
    );
    const otherIp = await request(pair.a, "POST", "/api/login", {
      body: { username: victim.user.username, password: STRONG_PASSWORD },
      headers: { "x-forwarded-for": "203.0.113.254" },
    });
    assert.equal(otherIp.status, 200, "other addresses are not blocked");
  });

  // How fast the close crosses is the benchmark's business, not a test's (shared, noisy
  // machines); the guard only tells a pushed revocation from one found at the next heartbeat
  // or at the access token's expiry, both far longer.
  test("logout on A closes the session's socket on B, pushed across the bus", BOUNDED, async () => {
    const session = await registerUser(pair.a);
    const onB = await TestSocket.authed(pair.b, session.accessToken);
    const res = await request(pair.a, "POST", "/api/logout", { token: session.accessToken });
    assert.equal(res.status, 204);
    assert.deepEqual(await closedWithin(onB, 10_000), { code: 1008, reason: "session_revoked" });
  });

  test(
    "MLS across servers: the Welcome crosses, competing commits for one epoch sent to A and B at once: exactly one wins, both converge",
    BOUNDED,
    async () => {
      const alice = await newDevice(pair.a);
      const bob = await newDevice(pair.b);
      const room = expectType(
        await alice.socket.call({ type: "room.create", name: "e2ee", isPublic: true }),
        "room",
      );
      const roomId = room.room.id;
      await bob.socket.call({ type: "room.join", roomId });
      // The join's membership event reaches A before the room.event does (one publisher, in order).
      await alice.socket.next("room.event");

      let aliceState: GroupState = await createGroup(alice.identity, {
        groupId: new TextEncoder().encode(roomId),
      });
      const claim = expectType(
        await alice.socket.call({ type: "keypackages.claim", userId: bob.userId }),
        "keypackages",
      );
      const add = await addMembers(aliceState, [bytes(claim.devices[0]?.keyPackage ?? "")]);
      const accepted = await alice.socket.call(
        await commitFrame(roomId, add, { addDevices: [{ userId: bob.userId, deviceId: bob.deviceId }] }),
      );
      assert.equal(expectType(accepted, "mls.accepted").epoch, 1);
      aliceState = mergePendingCommit(add);
      const welcome = await bob.socket.next("mls.handshake");
      assert.equal(welcome.kind, "welcome");
      let bobState = await joinFromWelcome(bytes(welcome.payload), bob.bundles, bob.identity);
      bob.socket.send({ type: "mls.ack", upTo: welcome.seq });

      const [a, b] = await Promise.all([selfUpdate(aliceState), selfUpdate(bobState)]);
      const [frameA, frameB] = await Promise.all([commitFrame(roomId, a), commitFrame(roomId, b)]);
      const answers = await Promise.all([alice.socket.call(frameA), bob.socket.call(frameB)]);
      assert.equal(answers.filter((f) => f.type === "mls.accepted").length, 1, JSON.stringify(answers));
      const loser = answers.find((f) => f.type === "error");
      assert.equal(loser?.type === "error" && loser.code, "stale_epoch");

      if (answers[0]?.type === "mls.accepted") {
        aliceState = mergePendingCommit(a);
        const c = await bob.socket.next("mls.handshake");
        bobState = (await processMessage(bobState, bytes(c.payload))).state;
        bob.socket.send({ type: "mls.ack", upTo: c.seq });
      } else {
        bobState = mergePendingCommit(b);
        const c = await alice.socket.next("mls.handshake");
        aliceState = (await processMessage(aliceState, bytes(c.payload))).state;
        alice.socket.send({ type: "mls.ack", upTo: c.seq });
      }
      assert.equal(groupEpoch(aliceState), 2n);
      assert.equal(groupEpoch(bobState), 2n);

      // Encrypted both ways across the servers.
      const toBob = await encryptApplicationMessage(aliceState, new TextEncoder().encode("from A"));
      aliceState = toBob.state;
      await alice.socket.call({ type: "message.send", to: { room: roomId }, payload: b64(toBob.message) });
      const atBob = await processMessage(bobState, bytes((await bob.socket.next("message")).payload));
      bobState = atBob.state;
      assert.equal(atBob.kind === "application" && new TextDecoder().decode(atBob.plaintext), "from A");
      const toAlice = await encryptApplicationMessage(bobState, new TextEncoder().encode("from B"));
      await bob.socket.call({ type: "message.send", to: { room: roomId }, payload: b64(toAlice.message) });
      const atAlice = await processMessage(aliceState, bytes((await alice.socket.next("message")).payload));
      assert.equal(atAlice.kind === "application" && new TextDecoder().decode(atAlice.plaintext), "from B");
      alice.socket.close();
      bob.socket.close();
    },
  );

  test(
    "content is written to neither Redis nor PostgreSQL: a canary is in no key and no row",
    BOUNDED,
    async () => {
      const canary = `CANARY-${randomBytes(12).toString("hex")}`;
      const encoded = payload(canary);
      const alice = await user(pair.a);
      const bob = await user(pair.b);
      const room = expectType(
        await alice.socket.call({ type: "room.create", name: "canary", isPublic: true }),
        "room",
      );
      await bob.socket.call({ type: "room.join", roomId: room.room.id });
      await alice.socket.next("room.event");
      await alice.socket.call({ type: "message.send", to: { room: room.room.id }, payload: encoded });
      assert.equal((await bob.socket.next("message")).payload, encoded, "the canary crossed Redis");
      await bob.socket.call({ type: "message.send", to: { user: alice.id }, payload: encoded });
      assert.equal((await alice.socket.next("message")).payload, encoded);
      alice.socket.send({ type: "typing", roomId: room.room.id, active: true });
      await bob.socket.next("typing.event");

      const needles = [canary, encoded];
      const keys = await dumpKeys(admin, prefix);
      assert.ok(keys.size > 0, "presence keys exist to search");
      const rows = await dumpDatabase(databaseUrl);
      const hits = [
        ...[...keys].filter(([k, v]) => needles.some((n) => k.includes(n) || v.includes(n))).map(([k]) => k),
        ...rows.filter((r) => needles.some((n) => r.includes(n))),
      ];
      assert.deepEqual(hits, []);
      alice.socket.close();
      bob.socket.close();
    },
  );

  test("both servers recover after Redis drops all their connections", BOUNDED, async () => {
    const alice = await user(pair.a);
    const bob = await user(pair.b);
    const dm = async (from: typeof alice, to: typeof bob, text: string) => {
      await from.socket.call({ type: "message.send", to: { user: to.id }, payload: payload(text) });
      const got = await to.socket.next("message", 5000);
      assert.equal(Buffer.from(got.payload, "base64").toString(), text);
    };
    await dm(alice, bob, "before");
    const before = [...(await connectionIds(admin, pair.nodeA)), ...(await connectionIds(admin, pair.nodeB))];
    assert.equal(before.length, 6, "bus publisher, bus subscriber and limiters on each server");
    for (const id of before) await admin.call("CLIENT", "KILL", "ID", id);

    await eventually(
      async () => {
        const now = [
          ...(await connectionIds(admin, pair.nodeA)),
          ...(await connectionIds(admin, pair.nodeB)),
        ];
        return now.length === 6 && now.every((id) => !before.includes(id));
      },
      10_000,
      "reconnected",
    );
    await eventually(async () => (await readyz(pair.a)).status === 200, 10_000, "A ready");
    await eventually(async () => (await readyz(pair.b)).status === 200, 10_000, "B ready");
    await dm(alice, bob, "after, A to B");
    await dm(bob, alice, "after, B to A");
    alice.socket.close();
    bob.socket.close();
  });
});

describeCluster("the offline queue across servers", (redisUrl, baseDatabaseUrl) => {
  const schemas = new TestSchemas(baseDatabaseUrl);
  const prefix = `${RUN_PREFIX}queue:`;
  const admin = new Redis(redisUrl);
  let pair: Pair;
  before(async () => {
    pair = await startPair(redisUrl, await schemas.create(), { keyPrefix: prefix }, { offlineQueue: "on" });
  });
  after(async () => {
    await pair?.stop();
    await schemas.dropAll();
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  test(
    "a message A queues while its device is connecting to B reaches the device on that connection",
    BOUNDED,
    async () => {
      const alice = await newDevice(pair.a);
      const bob = await newDevice(pair.b);
      const room = expectType(
        await alice.socket.call({ type: "room.create", name: "queue", isPublic: true }),
        "room",
      );
      const roomId = room.room.id;
      await bob.socket.call({ type: "room.join", roomId });
      await alice.socket.next("room.event");
      const claim = expectType(
        await alice.socket.call({ type: "keypackages.claim", userId: bob.userId }),
        "keypackages",
      );
      const start = await createGroup(alice.identity, { groupId: new TextEncoder().encode(roomId) });
      const add = await addMembers(start, [bytes(claim.devices[0]?.keyPackage ?? "")]);
      const bobRef = { userId: bob.userId, deviceId: bob.deviceId };
      expectType(
        await alice.socket.call(await commitFrame(roomId, add, { addDevices: [bobRef] })),
        "mls.accepted",
      );
      const welcome = await bob.socket.next("mls.handshake");
      const bobState = await joinFromWelcome(bytes(welcome.payload), bob.bundles, bob.identity);
      bob.socket.send({ type: "mls.ack", upTo: welcome.seq });

      // Bob goes offline everywhere (alice hears it once the cluster knows).
      bob.socket.close();
      await alice.socket.waitFor((f) => presenceOf(f, bob.userId)?.online === false, 10_000, "bob offline");

      // A's queue write waits for a gate and B's queue reads are recorded, so bob's device can
      // read its (empty) queue on B while A is still writing the entry for it.
      const gate = gateQueue(pair.a.server.storage.offlineQueue, pair.b.server.storage.offlineQueue);
      let again: TestSocket | undefined;
      try {
        const sealed = await encryptApplicationMessage(
          mergePendingCommit(add),
          new TextEncoder().encode("in time"),
        );
        const sent = alice.socket.call({
          type: "message.send",
          to: { room: roomId },
          payload: b64(sealed.message),
        });
        await eventually(async () => gate.writing, 10_000, "A writing the queue entry");
        again = await TestSocket.open(pair.b);
        again.send({
          type: "auth",
          token: bob.token,
          protocolVersion: PROTOCOL_VERSION,
          deviceId: bob.deviceId,
        });
        await again.next("ready");
        await eventually(
          async () => gate.reads.includes(bob.deviceId),
          10_000,
          "bob's device reading its queue on B",
        );
        gate.release();
        expectType(await sent, "ack");
        const queued = await again.waitFor(
          (f) => f.type === "message" && f.queued === true,
          10_000,
          "the queued message",
        );
        assert.ok(queued.type === "message" && queued.seq !== undefined);
        const read = await processMessage(bobState, bytes(queued.payload));
        assert.equal(read.kind === "application" && new TextDecoder().decode(read.plaintext), "in time");
        again.send({ type: "queue.ack", upTo: queued.seq });
      } finally {
        gate.restore();
        again?.close();
        alice.socket.close();
      }
    },
  );
});

describeCluster("PARLEY_DUPLICATE_LOGIN=reject across servers", (redisUrl, baseDatabaseUrl) => {
  const schemas = new TestSchemas(baseDatabaseUrl);
  const prefix = `${RUN_PREFIX}reject:`;
  const admin = new Redis(redisUrl);
  let pair: Pair;
  before(async () => {
    pair = await startPair(
      redisUrl,
      await schemas.create(),
      { keyPrefix: prefix },
      { duplicateLogin: "reject" },
    );
  });
  after(async () => {
    await pair?.stop();
    await schemas.dropAll();
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  test("a second login on B while connected on A is refused with 4409 duplicate_login", BOUNDED, async () => {
    const session = await registerUser(pair.a);
    const first = await TestSocket.authed(pair.a, session.accessToken);
    const second = await TestSocket.open(pair.b);
    second.send({ type: "auth", token: session.accessToken, protocolVersion: PROTOCOL_VERSION });
    assert.deepEqual(await closedWithin(second), { code: 4409, reason: "duplicate_login" });
    // Also with a fresh login (a new session), and on the same server.
    const again = await login(pair.b, session.user.username);
    assert.equal(again.status, 200);
    const third = await TestSocket.open(pair.a);
    third.send({ type: "auth", token: again.body.accessToken, protocolVersion: PROTOCOL_VERSION });
    assert.deepEqual(await closedWithin(third), { code: 4409, reason: "duplicate_login" });
    // The refused sockets left no presence behind: once the first closes, B accepts.
    first.close();
    await closedWithin(first);
    const fourth = await eventually(
      async () => {
        const s = await TestSocket.open(pair.b);
        s.send({ type: "auth", token: session.accessToken, protocolVersion: PROTOCOL_VERSION });
        const outcome = await Promise.race([
          s.next("ready", 5000).then(() => "ready"),
          closedWithin(s).then(() => "closed"),
        ]);
        return outcome === "ready" ? s : undefined;
      },
      5000,
      "accepted on B",
    );
    fourth.close();
  });
});

describeCluster("a Redis outage under two servers", (redisUrl, baseDatabaseUrl) => {
  const schemas = new TestSchemas(baseDatabaseUrl);
  const prefix = `${RUN_PREFIX}outage:`;
  const admin = new Redis(redisUrl);
  const outage = TcpRelay.to(redisUrl, 6379);
  let pair: Pair;
  before(async () => {
    await outage.listen();
    pair = await startPair(outage.via(redisUrl), await schemas.create(), {
      keyPrefix: prefix,
      retryDelayMs: () => 100,
    });
  });
  after(async () => {
    await pair?.stop();
    await outage.close();
    await schemas.dropAll();
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  test(
    "both keep serving local users, say not ready, send a queued logout and deliver again once Redis is back",
    BOUNDED,
    async () => {
      const alice = await user(pair.a);
      const carol = await user(pair.a);
      const bob = await user(pair.b);
      const room = expectType(
        await alice.socket.call({ type: "room.create", name: "weather", isPublic: true }),
        "room",
      );
      for (const u of [carol, bob]) {
        await u.socket.call({ type: "room.join", roomId: room.room.id });
        await alice.socket.waitFor((f) => f.type === "room.event" && f.userId === u.id, 5000, "joined");
      }
      const erin = await registerUser(pair.a);
      const erinOnB = await TestSocket.authed(pair.b, erin.accessToken);
      const text = async (from: typeof alice, to: typeof bob, body: string) => {
        await from.socket.call({ type: "message.send", to: { room: room.room.id }, payload: payload(body) });
        const got = await to.socket.waitFor(
          (f) => f.type === "message" && Buffer.from(f.payload, "base64").toString() === body,
          5000,
          body,
        );
        assert.equal(got.type, "message");
      };
      await text(alice, bob, "before");

      outage.cut();
      for (const ts of [pair.a, pair.b]) {
        const res = await eventually(
          async () => {
            const r = await readyz(ts);
            return r.status === 503 ? r : undefined;
          },
          5000,
          "not ready",
        );
        assert.deepEqual(res.body.checks, { draining: true, bus: false, database: true });
      }
      // Local users still talk; logins still work (the limiters count in memory meanwhile).
      await text(alice, carol, "during, on A");
      // Answered while Redis is still away (it comes back only below): logins do not need it.
      const dave = await login(pair.a, erin.user.username);
      assert.equal(dave.status, 200);
      // A logout on A while Redis is away reaches B once it is back.
      assert.equal((await request(pair.a, "POST", "/api/logout", { token: erin.accessToken })).status, 204);

      outage.restore();
      for (const ts of [pair.a, pair.b]) {
        await eventually(async () => (await readyz(ts)).status === 200, 10_000, "ready again");
      }
      assert.deepEqual(await closedWithin(erinOnB, 10_000), { code: 1008, reason: "session_revoked" });
      await text(alice, bob, "after, A to B");
      await text(bob, alice, "after, B to A");
      for (const u of [alice, carol, bob]) u.socket.close();
    },
  );
});
