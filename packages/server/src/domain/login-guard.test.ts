import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { ParleyError } from "./errors.js";
import { memoryLimiters } from "./limiters.js";
import { type AuditEvent, LoginGuard } from "./login-guard.js";

const refusedWith = (code: string) => (e: unknown) =>
  e instanceof ParleyError && e.code === code && (e.retryAfterMs ?? 0) > 0;

function guard(t: TestContext, overrides: { maxFailures?: number; accountFreeFailures?: number } = {}) {
  const audit: AuditEvent[] = [];
  const g = new LoginGuard({
    maxFailures: 3,
    windowS: 300,
    blockS: 300,
    accountFreeFailures: 100,
    accountMaxDelayS: 60,
    limiters: memoryLimiters,
    audit: (e) => audit.push(e),
    ...overrides,
  });
  t.after(() => g.close());
  return { g, audit };
}

describe("LoginGuard", () => {
  test("blocks an IP after its failures within the window, before any password check (AUTH-3)", async (t) => {
    const { g, audit } = guard(t);
    for (let i = 0; i < 2; i++) await g.failure("10.0.0.1", `acct${i}`);
    await g.check("10.0.0.1", "acct");
    await g.failure("10.0.0.1", "acct9");
    await assert.rejects(g.check("10.0.0.1", "someone-else"), refusedWith("ip_blocked"));
    await g.check("10.0.0.2", "acct");
    assert.deepEqual(audit, [{ event: "ip_blocked", ip: "10.0.0.1", seconds: 300, failures: 3 }]);
    assert.deepEqual(
      (await g.blockedIps()).map((b) => b.ip),
      ["10.0.0.1"],
    );
  });

  test("a correct password keeps the IP's failure count (AUTH-3)", async (t) => {
    const { g } = guard(t);
    await g.failure("10.0.0.1", "victim");
    await g.failure("10.0.0.1", "victim");
    await g.success("10.0.0.1", "attacker-own-account");
    await g.failure("10.0.0.1", "victim");
    await assert.rejects(g.check("10.0.0.1", "victim"), refusedWith("ip_blocked"));
  });

  test("slows an account down after its free failures from any IP; a success clears it (AUTH-4)", async (t) => {
    const { g, audit } = guard(t, { maxFailures: 1000, accountFreeFailures: 2 });
    await g.failure("10.0.0.1", "alice");
    await g.check("10.0.0.3", "alice");
    await g.failure("10.0.0.2", "alice");
    await assert.rejects(g.check("10.0.0.3", "alice"), refusedWith("account_throttled"));
    await g.check("10.0.0.3", "bob");
    assert.deepEqual(audit, [{ event: "account_throttled", account: "alice", seconds: 1, failures: 2 }]);
    await g.success("10.0.0.3", "alice");
    await g.check("10.0.0.3", "alice");
  });

  test("an admin lifts a block; lifting one that is not there says so", async (t) => {
    const { g, audit } = guard(t, { maxFailures: 1 });
    await g.failure("10.0.0.1", "x");
    assert.equal(await g.unblock("10.0.0.1"), true);
    await g.check("10.0.0.1", "y");
    assert.equal(await g.unblock("10.0.0.1"), false);
    assert.deepEqual(
      audit.map((e) => e.event),
      ["ip_blocked", "ip_unblocked"],
    );
    assert.deepEqual(await g.blockedIps(), []);
  });
});
