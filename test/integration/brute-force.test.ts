import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { SessionResponse } from "@parley/protocol";
import type { Config } from "@parley/server";
import {
  type HttpResult,
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";

// The brute-force defences (DESIGN.md "brute force"): the per-IP block with its expiry and audit
// events, the per-account slow-down, X-Forwarded-For only from trusted proxies, and the per-IP
// rate limit on the auth endpoints. Windows are shortened through the configuration; every wait
// is derived from the Retry-After the server announced, never from a guess about timing.

type Err = { code: string; retryAfterMs?: number };

function loginAs(ts: TestServer, username: string, password: string, forwardedFor?: string) {
  return request<SessionResponse & Err>(ts, "POST", "/api/login", {
    body: { username, password },
    ...(forwardedFor !== undefined ? { headers: { "x-forwarded-for": forwardedFor } } : {}),
  });
}

/** A wrong password that is easy to look for in the logs. */
let guesses = 0;
function guess(): string {
  guesses += 1;
  return `Canary-Guess-${guesses}-Zq!`;
}

/** Asserts a refusal with a Retry-After header (whole seconds, at least 1, at most `maxS`). */
function assertRetryAfter(res: HttpResult<Err>, status: number, code: string, maxS: number): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.code, code);
  const header = Number(res.headers["retry-after"]);
  assert.ok(
    Number.isInteger(header) && header >= 1 && header <= maxS,
    `Retry-After: ${res.headers["retry-after"]}`,
  );
  const ms = res.body.retryAfterMs;
  assert.ok(ms !== undefined && ms > 0 && ms <= maxS * 1000, `retryAfterMs: ${ms}`);
}

/** The parsed JSON log lines a server wrote. */
function logLines(ts: TestServer): Record<string, unknown>[] {
  return ts.logs
    .flatMap((chunk) => chunk.split("\n"))
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function waitForLog(ts: TestServer, match: (line: Record<string, unknown>) => boolean, what: string) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const line = logLines(ts).find(match);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no ${what} log line within 5 s`);
    await sleep(50);
  }
}

/** Five failures against `maxFailures: 5`, each answered 401 (the block starts after the fifth). */
async function failFiveTimes(ts: TestServer, username: string, forwardedFor?: (i: number) => string) {
  for (let i = 0; i < 5; i++) {
    const res = await loginAs(ts, username, guess(), forwardedFor?.(i));
    assert.equal(res.status, 401, `failure ${i + 1}: ${res.text}`);
    assert.equal(res.body.code, "invalid_credentials");
  }
}

const IP_BLOCK: Partial<Config> = {
  bruteForceMaxFailures: 5,
  bruteForceWindowS: 300,
  bruteForceBlockS: 2,
  accountFreeFailures: 1_000_000,
};

describe("per-IP block", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(IP_BLOCK);
  });
  after(async () => {
    await ts?.stop();
  });

  it("blocks an IP after 5 failed logins, refuses even the correct password, and lets it in after the block", async () => {
    const username = uniqueName("ids");
    await registerUser(ts, username);
    const firstGuess = guesses + 1;
    await failFiveTimes(ts, username);

    const blocked = await loginAs(ts, username, STRONG_PASSWORD);
    assertRetryAfter(blocked, 403, "ip_blocked", 2);

    const audit = await waitForLog(ts, (l) => l.event === "ip_blocked", "ip_blocked");
    assert.equal(audit.ip, "127.0.0.1");
    const everything = ts.logs.join("");
    for (let i = firstGuess; i <= guesses; i++) assert.ok(!everything.includes(`Canary-Guess-${i}-`));
    assert.ok(!everything.includes(STRONG_PASSWORD), "the correct password is in the logs");

    await sleep((blocked.body.retryAfterMs ?? 0) + 300);
    const res = await loginAs(ts, username, STRONG_PASSWORD);
    assert.equal(res.status, 200, res.text);
    const unblocked = await waitForLog(ts, (l) => l.event === "ip_unblocked", "ip_unblocked");
    assert.equal(unblocked.ip, "127.0.0.1");
  });
});

describe("X-Forwarded-For without trusted proxies", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(IP_BLOCK);
  });
  after(async () => {
    await ts?.stop();
  });

  it("is ignored: a spoofed header neither spreads failures nor dodges the block", async () => {
    const username = uniqueName("xff");
    await registerUser(ts, username);
    await failFiveTimes(ts, username, (i) => `10.1.1.${i + 1}`);
    const res = await loginAs(ts, username, STRONG_PASSWORD, "10.2.2.2");
    assertRetryAfter(res, 403, "ip_blocked", 2);
  });
});

describe("X-Forwarded-For from a trusted proxy", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      ...IP_BLOCK,
      bruteForceBlockS: 300,
      trustedProxies: ["127.0.0.1"],
      accountFreeFailures: 3,
      accountMaxDelayS: 2,
    });
  });
  after(async () => {
    await ts?.stop();
  });

  it("attributes failures to the forwarded address and blocks only that one", async () => {
    const username = uniqueName("fwd");
    await registerUser(ts, username);
    // Unknown names, so the per-account slow-down stays out of the way.
    for (let i = 0; i < 5; i++) {
      const res = await loginAs(ts, uniqueName("nobody"), guess(), "10.9.9.9");
      assert.equal(res.status, 401);
    }
    assertRetryAfter(await loginAs(ts, username, STRONG_PASSWORD, "10.9.9.9"), 403, "ip_blocked", 300);
    const audit = await waitForLog(ts, (l) => l.event === "ip_blocked", "ip_blocked");
    assert.equal(audit.ip, "10.9.9.9");

    assert.equal((await loginAs(ts, username, STRONG_PASSWORD, "10.8.8.8")).status, 200);
    assert.equal(
      (await loginAs(ts, username, STRONG_PASSWORD)).status,
      200,
      "the proxy itself is not blocked",
    );
  });

  it("slows down an account attacked from many addresses, yet lets its owner in once the wait is over", async () => {
    const username = uniqueName("many");
    await registerUser(ts, username);
    let throttled: HttpResult<Err> | undefined;
    for (let i = 0; i < 5 && !throttled; i++) {
      const res = await loginAs(ts, username, guess(), `10.20.0.${i + 1}`);
      if (res.status === 429) throttled = res;
      else assert.equal(res.status, 401);
    }
    assert.ok(throttled, "no slow-down after 5 failures from 5 addresses");
    assertRetryAfter(throttled, 429, "account_throttled", 2);

    // The owner from a fresh address waits at most accountMaxDelayS, never longer.
    await sleep((throttled.body.retryAfterMs ?? 0) + 300);
    const res = await loginAs(ts, username, STRONG_PASSWORD, "10.30.0.1");
    assert.equal(res.status, 200, res.text);
  });

  it("counts failures on either side of a successful login from the same IP", async () => {
    const mine = uniqueName("mine");
    await registerUser(ts, mine);
    const ip = "10.6.6.6";
    for (let i = 0; i < 4; i++) {
      assert.equal((await loginAs(ts, uniqueName("victim"), guess(), ip)).status, 401);
    }
    assert.equal((await loginAs(ts, mine, STRONG_PASSWORD, ip)).status, 200);
    assert.equal((await loginAs(ts, uniqueName("victim"), guess(), ip)).status, 401);
    // Five failures from this IP within the window: it must be blocked now.
    assertRetryAfter(await loginAs(ts, mine, STRONG_PASSWORD, ip), 403, "ip_blocked", 300);
  });
});

describe("per-account slow-down", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      bruteForceMaxFailures: 1_000_000,
      accountFreeFailures: 3,
      accountMaxDelayS: 2,
    });
  });
  after(async () => {
    await ts?.stop();
  });

  it("refuses further tries with 429 account_throttled, the correct password too, and lets the owner in after the wait", async () => {
    const username = uniqueName("slow");
    await registerUser(ts, username);
    for (let i = 0; i < 3; i++) assert.equal((await loginAs(ts, username, guess())).status, 401);
    let throttled: HttpResult<Err> | undefined;
    for (let i = 0; i < 2 && !throttled; i++) {
      const res = await loginAs(ts, username, guess());
      if (res.status === 429) throttled = res;
      else assert.equal(res.status, 401);
    }
    assert.ok(throttled, "no slow-down after 5 failures");
    assertRetryAfter(throttled, 429, "account_throttled", 2);
    assertRetryAfter(await loginAs(ts, username, STRONG_PASSWORD), 429, "account_throttled", 2);

    await sleep((throttled.body.retryAfterMs ?? 0) + 300);
    const res = await loginAs(ts, username, STRONG_PASSWORD);
    assert.equal(res.status, 200, res.text);
  });

  it("makes the try right after accountFreeFailures failures wait", async () => {
    const username = uniqueName("slow");
    await registerUser(ts, username);
    for (let i = 0; i < 3; i++) assert.equal((await loginAs(ts, username, guess())).status, 401);
    assertRetryAfter(await loginAs(ts, username, guess()), 429, "account_throttled", 2);
  });

  it("does not slow down other accounts", async () => {
    const username = uniqueName("calm");
    await registerUser(ts, username);
    assert.equal((await loginAs(ts, username, STRONG_PASSWORD)).status, 200);
  });
});

describe("per-IP rate limit on the auth endpoints", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ authRatePerMin: 3, bruteForceMaxFailures: 1_000_000 });
  });
  after(async () => {
    await ts?.stop();
  });

  it("answers the fourth register/login request within a minute with 429 rate_limited", async () => {
    const username = uniqueName("rate");
    await registerUser(ts, username);
    assert.equal((await loginAs(ts, username, STRONG_PASSWORD)).status, 200);
    assert.equal((await loginAs(ts, username, guess())).status, 401);

    assertRetryAfter(await loginAs(ts, username, STRONG_PASSWORD), 429, "rate_limited", 60);
    const register = await request<Err>(ts, "POST", "/api/register", {
      body: { username: uniqueName("rate"), password: STRONG_PASSWORD },
    });
    assertRetryAfter(register, 429, "rate_limited", 60);
    // Endpoints that cost no hash stay available.
    assert.equal((await request(ts, "GET", "/api/info")).status, 200);
  });
});
