import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { TestSchemas } from "../../packages/server/src/storage/test-databases.js";
import { registerUser, request, startTestServer, type TestServer } from "./support/harness.js";
import { freePort, REDIS_SERVER, RedisProcess } from "./support/redis-process.js";
import { TestSocket } from "./support/ws-client.js";

// Issue 7, "Redis restarted mid-conversation: both nodes recover without a restart of their
// own". A private redis-server (the shared one must stay up) under two servers in this process
// on one fresh PostgreSQL schema; it is stopped with SIGTERM and a new, empty one started on the
// same port.

const DATABASE_URL = process.env.PARLEY_TEST_DATABASE_URL;
const REQUIRE_SERVICES = process.env.PARLEY_REQUIRE_SERVICES === "1";
const HAVE_REDIS_SERVER = existsSync(REDIS_SERVER);

function describeWithServices(name: string, body: (databaseUrl: string) => void): void {
  if (DATABASE_URL && HAVE_REDIS_SERVER) describe(name, () => body(DATABASE_URL));
  else if (REQUIRE_SERVICES)
    test(name, () => assert.fail(`PARLEY_REQUIRE_SERVICES=1 but PostgreSQL or ${REDIS_SERVER} is missing`));
  else describe(name, { skip: `PARLEY_TEST_DATABASE_URL and ${REDIS_SERVER} are needed` }, () => undefined);
}

const payload = (text: string) => Buffer.from(text).toString("base64");

async function eventually(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

const ready = async (ts: TestServer) => (await request(ts, "GET", "/readyz")).status;

describeWithServices("a Redis restart under two servers", (baseDatabaseUrl) => {
  const schemas = new TestSchemas(baseDatabaseUrl);
  let redis: RedisProcess;
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  let dirB: string | undefined;
  const nodeA = `a-${randomBytes(4).toString("hex")}`;
  const nodeB = `b-${randomBytes(4).toString("hex")}`;

  before(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    const databaseUrl = await schemas.create();
    const config = { redisUrl: redis.url, databaseUrl, frameRate: 1000, frameBurst: 1000 };
    const tuning = { redis: { heartbeatMs: 300, presenceTtlMs: 1000, retryDelayMs: () => 100 } };
    a = await startTestServer({ ...config, nodeId: nodeA }, tuning);
    dirB = await mkdtemp(join(tmpdir(), "parley-test-"));
    await copyFile(join(a.dataDir, "jwt.secret"), join(dirB, "jwt.secret"));
    await chmod(join(dirB, "jwt.secret"), 0o600);
    b = await startTestServer({ ...config, nodeId: nodeB }, { ...tuning, dataDir: dirB });
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (dirB) await rm(dirB, { recursive: true, force: true });
    await redis?.dispose();
    await schemas.dropAll();
  });

  test("SIGTERM and a fresh redis-server on the same port: ready again, messages both ways, presence back", {
    timeout: 120_000,
  }, async () => {
    const A = a as TestServer;
    const B = b as TestServer;
    const aliceS = await registerUser(A);
    const bobS = await registerUser(B);
    const alice = await TestSocket.authed(A, aliceS.accessToken);
    const bob = await TestSocket.authed(B, bobS.accessToken);
    const dm = async (from: TestSocket, to: TestSocket, toId: string, text: string) => {
      await from.call({ type: "message.send", to: { user: toId }, payload: payload(text) });
      await to.waitFor(
        (f) => f.type === "message" && Buffer.from(f.payload, "base64").toString() === text,
        10_000,
        text,
      );
    };
    await dm(alice, bob, bobS.user.id, "before, A to B");
    await dm(bob, alice, aliceS.user.id, "before, B to A");

    await redis.stop("SIGTERM");
    for (const ts of [A, B]) await eventually(async () => (await ready(ts)) === 503, "not ready");
    // Meanwhile carol connects on B: her presence can only reach Redis after the restart.
    const carolS = await registerUser(B);
    const carol = await TestSocket.authed(B, carolS.accessToken);

    await redis.start(); // a new, empty Redis on the same port
    for (const ts of [A, B]) await eventually(async () => (await ready(ts)) === 200, "ready again");
    await dm(alice, bob, bobS.user.id, "after, A to B");
    await dm(bob, alice, aliceS.user.id, "after, B to A");
    await dm(alice, carol, carolS.user.id, "after, A to carol");

    // Presence is rebuilt from each node's live sockets: in the new Redis and in the API.
    const admin = new Redis(redis.url);
    try {
      for (const [user, node] of [
        [aliceS.user.id, nodeA],
        [bobS.user.id, nodeB],
        [carolS.user.id, nodeB],
      ] as const) {
        await eventually(
          async () => (await admin.hvals(`parley:presence:${user}`)).includes(node),
          `presence of ${user} on ${node}`,
        );
      }
    } finally {
      admin.disconnect();
    }
    const users = await request<{ users: { id: string; online: boolean }[] }>(A, "GET", "/api/users", {
      token: aliceS.accessToken,
    });
    for (const id of [bobS.user.id, carolS.user.id]) {
      assert.equal(users.body.users.find((u) => u.id === id)?.online, true, `${id} online as seen from A`);
    }
    for (const s of [alice, bob, carol]) s.close();
  });
});
