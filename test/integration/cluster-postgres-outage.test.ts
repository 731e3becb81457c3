import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { PROTOCOL_VERSION } from "@parley/protocol";
import { Redis } from "ioredis";
import { TestSchemas } from "../../packages/server/src/storage/test-databases.js";
import { deleteKeys } from "./support/cluster.js";
import { login, registerUser, request, startTestServer, type TestServer } from "./support/harness.js";
import { TcpRelay } from "./support/tcp-relay.js";
import { TestSocket } from "./support/ws-client.js";

// Issue 7, "PostgreSQL down makes /readyz fail and login return a clear 503, without crashing".
// The shared PostgreSQL stays up: both servers reach it through a TCP relay in this process,
// which the test cuts (every connection dropped, new ones refused) and restores.

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL;
const DATABASE_URL = process.env.PARLEY_TEST_DATABASE_URL;
const REQUIRE_SERVICES = process.env.PARLEY_REQUIRE_SERVICES === "1";

function describeCluster(name: string, body: (redisUrl: string, databaseUrl: string) => void): void {
  if (REDIS_URL && DATABASE_URL) describe(name, () => body(REDIS_URL, DATABASE_URL));
  else if (REQUIRE_SERVICES)
    test(name, () => assert.fail("PARLEY_REQUIRE_SERVICES=1 but the Redis or PostgreSQL URL is not set"));
  else
    describe(
      name,
      { skip: "PARLEY_TEST_REDIS_URL and PARLEY_TEST_DATABASE_URL are needed" },
      () => undefined,
    );
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

interface Ready {
  ready: boolean;
  checks: Record<string, boolean>;
}

describeCluster("a PostgreSQL outage under two servers", (redisUrl, baseDatabaseUrl) => {
  const schemas = new TestSchemas(baseDatabaseUrl);
  const prefix = `parley-test-${randomBytes(6).toString("hex")}:pg-outage:`;
  const admin = new Redis(redisUrl);
  const relay = TcpRelay.to(baseDatabaseUrl, 5432);
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  let dirB: string | undefined;

  before(async () => {
    await relay.listen();
    const databaseUrl = relay.via(await schemas.create());
    const config = { redisUrl, databaseUrl, frameRate: 1000, frameBurst: 1000 };
    const tuning = { redis: { keyPrefix: prefix } };
    a = await startTestServer({ ...config, nodeId: `a-${randomBytes(4).toString("hex")}` }, tuning);
    dirB = await mkdtemp(join(tmpdir(), "parley-test-"));
    await copyFile(join(a.dataDir, "jwt.secret"), join(dirB, "jwt.secret"));
    await chmod(join(dirB, "jwt.secret"), 0o600);
    b = await startTestServer(
      { ...config, nodeId: `b-${randomBytes(4).toString("hex")}` },
      { ...tuning, dataDir: dirB },
    );
  });
  after(async () => {
    relay.restore();
    await Promise.all([a?.stop(), b?.stop()]);
    if (dirB) await rm(dirB, { recursive: true, force: true });
    await relay.close();
    await schemas.dropAll();
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  test("both say not ready and refuse logins with 503 service_unavailable, connected users keep chatting, all is well once it is back", {
    timeout: 120_000,
  }, async () => {
    const A = a as TestServer;
    const B = b as TestServer;
    const aliceS = await registerUser(A);
    const bobS = await registerUser(B);
    const alice = await TestSocket.authed(A, aliceS.accessToken);
    const bob = await TestSocket.authed(B, bobS.accessToken);
    const room = await alice.call({ type: "room.create", name: "storm", isPublic: true });
    assert.equal(room.type, "room");
    const roomId = room.type === "room" ? room.room.id : "";
    await bob.call({ type: "room.join", roomId });
    await alice.waitFor((f) => f.type === "room.event" && f.userId === bobS.user.id, 10_000, "bob joined");
    const say = async (from: TestSocket, to: TestSocket, text: string) => {
      const ack = await from.call({ type: "message.send", to: { room: roomId }, payload: payload(text) });
      assert.equal(ack.type, "ack", JSON.stringify(ack));
      await to.waitFor(
        (f) => f.type === "message" && Buffer.from(f.payload, "base64").toString() === text,
        10_000,
        text,
      );
    };
    await say(alice, bob, "before, A to B");
    await say(bob, alice, "before, B to A");

    relay.cut();
    for (const ts of [A, B]) {
      let last: Ready | undefined;
      await eventually(async () => {
        const r = await request<Ready>(ts, "GET", "/readyz");
        last = r.body;
        return r.status === 503;
      }, "not ready");
      assert.deepEqual(last?.checks, { draining: true, bus: true, database: false });
      const refused = await login(ts, aliceS.user.username);
      assert.equal(refused.status, 503, refused.text);
      assert.equal((refused.body as unknown as { code: string }).code, "service_unavailable");
      assert.ok(Number(refused.headers["retry-after"]) > 0, "Retry-After says when to come back");
      assert.equal((await request(ts, "GET", "/healthz")).status, 200, "the process is alive");
    }
    // A new socket cannot be authenticated (the session is in the database): 1013, the
    // close the SDK takes as "try another server".
    const late = await TestSocket.open(B);
    late.send({ type: "auth", token: bobS.accessToken, protocolVersion: PROTOCOL_VERSION });
    assert.deepEqual(await late.closed, { code: 1013, reason: "service_unavailable" });
    // Sockets already open keep going: a room message needs only the membership each server
    // cached when the room was last used. What needs the database says so and the socket
    // stays open: a direct message (the recipient is looked up, so a disabled account
    // stops receiving at once).
    await say(alice, bob, "during, A to B");
    await say(bob, alice, "during, B to A");
    const direct = await alice.call({
      type: "message.send",
      to: { user: bobS.user.id },
      payload: payload("dm"),
    });
    assert.equal(direct.type === "error" && direct.code, "service_unavailable");
    await say(alice, bob, "during, still open");

    relay.restore();
    for (const ts of [A, B]) {
      await eventually(async () => (await request(ts, "GET", "/readyz")).status === 200, "ready again");
      assert.equal((await login(ts, bobS.user.username)).status, 200);
    }
    await say(alice, bob, "after, A to B");
    await say(bob, alice, "after, B to A");
    const carol = await TestSocket.authed(B, (await registerUser(B)).accessToken);
    carol.close();
    alice.close();
    bob.close();
  });
});
