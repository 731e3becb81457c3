import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { PASSWORD_POLICIES } from "@parley/protocol/password-policy";
import type { AuditEvent } from "../audit/audit-log.js";
import { openSqliteStorage } from "../storage/sqlite.js";
import { ParleyError } from "./errors.js";
import { asUserId } from "./ids.js";
import { memoryLimiters } from "./limiters.js";
import { LoginGuard } from "./login-guard.js";
import { hashPassword } from "./password-hasher.js";
import { RecoveryService } from "./recovery.js";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const NEW = "Fresh-Meadow-Lantern-4";
const client = { ip: "10.0.0.5", userAgent: null };

async function setup(t: TestContext) {
  const storage = await openSqliteStorage(":memory:");
  t.after(() => storage.close());
  const guard = new LoginGuard({
    maxFailures: 1000,
    windowS: 300,
    blockS: 300,
    accountFreeFailures: 1000,
    accountMaxDelayS: 1,
    limiters: memoryLimiters,
    audit: () => undefined,
  });
  t.after(() => guard.close());
  let now = T0;
  const audits: AuditEvent[] = [];
  const service = new RecoveryService({
    storage,
    guard,
    policy: PASSWORD_POLICIES.default,
    onSessionRevoked: () => undefined,
    audit: (e) => audits.push(e),
    now: () => now,
  });
  const id = asUserId("u-carol");
  await storage.createUser({
    id,
    username: "carol",
    passwordHash: await hashPassword("Quiet-Harbour-Lamp-7"),
    isAdmin: false,
    createdAt: T0,
  });
  return { storage, service, id, audits, at: (ms: number) => (now = ms) };
}

const isCode = (code: string) => (e: unknown) => e instanceof ParleyError && e.code === code;

describe("RecoveryService (AUTH-11, AUTH-12)", () => {
  test("a reset code works until 24 hours after it was issued, and not after", async (t) => {
    const { service, id, at } = await setup(t);
    const late = await service.issueResetCode(id, asUserId("admin"));
    assert.equal(late.expiresAt, T0 + 24 * HOUR);
    at(T0 + 24 * HOUR);
    await assert.rejects(
      service.resetPassword({ username: "carol", code: late.code, newPassword: NEW }, client),
      isCode("reset_code_invalid"),
    );
    at(T0 + 25 * HOUR);
    const inTime = await service.issueResetCode(id, asUserId("admin"));
    at(T0 + 49 * HOUR - 1);
    await service.resetPassword({ username: "carol", code: inTime.code, newPassword: NEW }, client);
  });

  test("a recovery code does not expire but is single use, and the audit holds no code", async (t) => {
    const { service, id, at, audits } = await setup(t);
    const { codes } = await service.createRecoveryCodes(id, "Quiet-Harbour-Lamp-7", client);
    at(T0 + 365 * 24 * HOUR);
    await service.resetPassword({ username: "carol", code: codes[3] ?? "", newPassword: NEW }, client);
    await assert.rejects(
      service.resetPassword(
        { username: "carol", code: codes[3] ?? "", newPassword: "Other-Meadow-Lantern-6" },
        client,
      ),
      isCode("reset_code_invalid"),
    );
    assert.equal(await service.remaining(id), 9);
    const text = JSON.stringify(audits);
    for (const code of codes) assert.ok(!text.includes(code));
    assert.deepEqual(
      audits.map((a) => a.kind),
      ["recovery_codes_created", "password_reset", "login_failed"],
    );
  });
});
