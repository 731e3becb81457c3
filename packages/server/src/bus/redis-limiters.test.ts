import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import { LoginGuard } from "../domain/login-guard.js";
import { RedisLimiters } from "./redis-limiters.js";

// Cluster-wide counters on a real Redis (PARLEY_TEST_REDIS_URL), under a key prefix of this
// run's own that is deleted at the end; and the in-memory insurance when Redis does not answer.

const REQUIRE_SERVICES = process.env.PARLEY_REQUIRE_SERVICES === "1";

function describeRedis(name: string, body: (url: string) => void): void {
  const url = process.env.PARLEY_TEST_REDIS_URL;
  if (url) describe(name, () => body(url));
  else if (REQUIRE_SERVICES)
    test(name, () => assert.fail("PARLEY_REQUIRE_SERVICES=1 but PARLEY_TEST_REDIS_URL is not set"));
  else describe(name, { skip: "PARLEY_TEST_REDIS_URL is not set" }, () => undefined);
}

function guard(limiters: RedisLimiters, audit: unknown[] = []): LoginGuard {
  return new LoginGuard({
    maxFailures: 5,
    windowS: 300,
    blockS: 300,
    accountFreeFailures: 1000,
    accountMaxDelayS: 30,
    limiters: limiters.factory,
    audit: (event) => audit.push(event),
  });
}

describeRedis("RedisLimiters", (url) => {
  const prefix = `parley-test-${randomBytes(6).toString("hex")}:`;
  const admin = new Redis(url);
  const opened: RedisLimiters[] = [];
  after(async () => {
    await Promise.all(opened.map((l) => l.close()));
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== "0");
    await admin.quit();
  });

  async function server(): Promise<RedisLimiters> {
    const limiters = new RedisLimiters({ url, keyPrefix: prefix });
    opened.push(limiters);
    const deadline = Date.now() + 5000;
    while (!limiters.connected()) {
      assert.ok(Date.now() < deadline, "Redis did not answer");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return limiters;
  }

  test("two servers count against the same key", async () => {
    const [a, b] = [await server(), await server()];
    const options = { keyPrefix: "shared", points: 10, duration: 60 };
    await a.factory(options).consume("k");
    await b.factory(options).consume("k");
    const res = await a.factory(options).get("k");
    assert.equal(res?.consumedPoints, 2);
  });

  test("failed logins spread over two servers add up and block the IP on both", async () => {
    const audit: unknown[] = [];
    const [a, b] = [guard(await server(), audit), guard(await server(), audit)];
    const ip = `198.51.100.${Math.floor(Math.random() * 200)}`;
    const attempt = async (g: LoginGuard, i: number) => {
      await g.check(ip, `acct${i}`);
      await g.failure(ip, `acct${i}`);
    };
    for (let i = 0; i < 3; i++) await attempt(a, i);
    for (let i = 3; i < 5; i++) await attempt(b, i);
    assert.deepEqual(audit, [{ event: "ip_blocked", ip, seconds: 300, failures: 5 }]);
    await assert.rejects(attempt(b, 5), { code: "ip_blocked" });
    await assert.rejects(attempt(a, 6), { code: "ip_blocked" });
    a.close();
    b.close();
  });

  test("keeps its counters under the prefix only", async () => {
    const limiters = await server();
    await limiters.factory({ keyPrefix: "scoped", points: 5, duration: 60 }).consume("k");
    assert.equal(await admin.exists(`${prefix}rl:scoped:k`), 1);
  });
});

describe("RedisLimiters without Redis", () => {
  // No timing is asserted: a command that waited for Redis would wait for the next connection
  // attempt (a minute away) or for ever, past the test's generous timeout.
  test("counts in memory, neither blocking everybody nor failing, when nothing listens", {
    timeout: 30_000,
  }, async () => {
    const limiters = new RedisLimiters({ url: "redis://127.0.0.1:1", retryDelayMs: () => 60_000 });
    try {
      const limiter = limiters.factory({ keyPrefix: "down", points: 2, duration: 60 });
      assert.equal((await limiter.consume("k")).consumedPoints, 1);
      assert.equal((await limiter.consume("k")).consumedPoints, 2);
      await assert.rejects(
        limiter.consume("k"),
        (res: { consumedPoints: number }) => res.consumedPoints === 3,
      );
      assert.equal((await limiter.consume("other")).consumedPoints, 1, "other keys are not blocked");
    } finally {
      await limiters.close();
    }
  });

  test("answers when Redis accepts connections but never replies", { timeout: 30_000 }, async (t) => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as { port: number };
    const limiters = new RedisLimiters({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 200 });
    try {
      // Without the command timeout the answer would never come (the test's timeout fails it).
      const res = await limiters.factory({ keyPrefix: "mute", points: 5, duration: 60 }).consume("k");
      assert.equal(res.consumedPoints, 1);
    } finally {
      await limiters.close();
    }
  });
});
