import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, type TestContext, test } from "node:test";
import { LOGIN_CHALLENGE_MAX_ATTEMPTS, LOGIN_CHALLENGE_TTL_S } from "@parley/protocol";
import { Secret, TOTP } from "otpauth";
import type { AuditEvent } from "../audit/audit-log.js";
import { ParleyError } from "./errors.js";
import { asUserId } from "./ids.js";
import { memoryLimiters } from "./limiters.js";
import { LoginGuard } from "./login-guard.js";
import { hashPassword } from "./password-hasher.js";
import { SecretBox } from "./secret-box.js";
import { T0, tempStorage } from "./test-support.js";
import { hashInviteCode } from "./tokens.js";
import { type TotpRequirement, TotpService } from "./totp.js";

const PASSWORD = "Quiet-Harbour-Lamp-7";
const client = { ip: "10.0.0.5", userAgent: null };
const STEP = 30_000;

async function setup(t: TestContext, options: { require?: TotpRequirement; maxFailures?: number } = {}) {
  const storage = await tempStorage(t);
  const guard = new LoginGuard({
    maxFailures: options.maxFailures ?? 1000,
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
  const service = new TotpService({
    storage,
    guard,
    box: new SecretBox(randomBytes(32)),
    require: options.require ?? "off",
    audit: (e) => audits.push(e),
    now: () => now,
  });
  const passwordHash = await hashPassword(PASSWORD);
  const id = asUserId("u-carol");
  await storage.createUser({ id, username: "carol", passwordHash, isAdmin: false, createdAt: T0 });
  const adminId = asUserId("u-ada");
  await storage.createUser({ id: adminId, username: "ada", passwordHash, isAdmin: true, createdAt: T0 });
  const user = async (userId = id) => {
    const u = await storage.findUserById(userId);
    assert.ok(u);
    return u;
  };
  return { storage, service, id, adminId, user, audits, at: (ms: number) => (now = ms), now: () => now };
}

/** The code an authenticator app shows at `timestamp` for `secret` (the same RFC 6238 library). */
const codeAt = (secret: string, timestamp: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).generate({
    timestamp,
  });

const isCode = (code: string) => (e: unknown) => e instanceof ParleyError && e.code === code;

async function enrolled(t: TestContext, options: Parameters<typeof setup>[1] = {}) {
  const s = await setup(t, options);
  const { secret, uri } = await s.service.enrol(s.id, PASSWORD, client);
  const recoveryCodes = await s.service.confirm(s.id, codeAt(secret, s.now()), client);
  return { ...s, secret, uri, recoveryCodes };
}

describe("TotpService (AUTH-13 to AUTH-15)", () => {
  test("enrolment is on only after a code confirms it, and gives ten distinct recovery codes", async (t) => {
    const s = await setup(t);
    const { secret, uri } = await s.service.enrol(s.id, PASSWORD, client);
    assert.match(uri, /^otpauth:\/\/totp\/Parley:carol\?/);
    assert.ok(uri.includes(`secret=${secret}`));
    assert.equal((await s.service.status(await s.user())).enabled, false);
    assert.equal(await s.service.challengeFor(await s.user(), client.ip), undefined, "not on yet");
    const wrong = codeAt(secret, T0) === "000000" ? "111111" : "000000";
    await assert.rejects(s.service.confirm(s.id, wrong, client), isCode("totp_invalid"));
    const codes = await s.service.confirm(s.id, codeAt(secret, T0), client);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    assert.deepEqual(await s.service.status(await s.user()), {
      enabled: true,
      required: false,
      recoveryCodesLeft: 10,
    });
    assert.deepEqual(
      s.audits.map((a) => a.kind),
      ["totp_failed", "totp_enabled"],
    );
  });

  test("enrolment needs the password, and a wrong one counts as a failed login", async (t) => {
    const s = await setup(t, { maxFailures: 2 });
    await assert.rejects(s.service.enrol(s.id, "wrong", client), isCode("invalid_credentials"));
    await assert.rejects(s.service.enrol(s.id, "wrong", client), isCode("invalid_credentials"));
    await assert.rejects(s.service.enrol(s.id, PASSWORD, client), isCode("ip_blocked"));
  });

  test("the secret is kept sealed, never as the base32 an authenticator gets", async (t) => {
    const s = await setup(t);
    const { secret } = await s.service.enrol(s.id, PASSWORD, client);
    const row = await s.storage.totp.find(s.id);
    assert.ok(row);
    assert.ok(!row.secret.includes(secret));
    assert.ok(row.secret.startsWith("v1."));
  });

  test("a login answers a challenge, and the code completes it once the clock agrees", async (t) => {
    const s = await enrolled(t);
    s.at(T0 + 10 * STEP);
    const c = await s.service.challengeFor(await s.user(), client.ip);
    assert.ok(c);
    assert.equal(c.next, "totp");
    assert.equal(c.expiresAt, T0 + 10 * STEP + LOGIN_CHALLENGE_TTL_S * 1000);
    const stale = codeAt(s.secret, T0 + 8 * STEP);
    const current = codeAt(s.secret, T0 + 10 * STEP);
    if (stale !== current)
      await assert.rejects(s.service.completeLogin(c.challenge, stale, client), isCode("totp_invalid"));
    // One step of drift is forgiven (RFC 6238 §5.2).
    const user = await s.service.completeLogin(c.challenge, codeAt(s.secret, T0 + 11 * STEP), client);
    assert.equal(user.id, s.id);
    await assert.rejects(
      s.service.completeLogin(c.challenge, codeAt(s.secret, T0 + 10 * STEP), client),
      isCode("login_challenge_invalid"),
      "a challenge is single use",
    );
  });

  test("a code that was accepted is refused when replayed within its window", async (t) => {
    const s = await enrolled(t);
    s.at(T0 + 20 * STEP);
    const code = codeAt(s.secret, s.now());
    const first = await s.service.challengeFor(await s.user(), client.ip);
    assert.ok(first);
    await s.service.completeLogin(first.challenge, code, client);
    s.at(T0 + 20 * STEP + 10_000);
    const second = await s.service.challengeFor(await s.user(), client.ip);
    assert.ok(second);
    await assert.rejects(s.service.completeLogin(second.challenge, code, client), isCode("totp_invalid"));
    assert.deepEqual(s.audits.at(-1)?.details, { reason: "code_reused" });
    // The next step's code is fine.
    s.at(T0 + 21 * STEP);
    await s.service.completeLogin(second.challenge, codeAt(s.secret, s.now()), client);
  });

  test("a recovery code stands in for a code once, and never resets a password", async (t) => {
    const s = await enrolled(t);
    const [code] = s.recoveryCodes;
    assert.ok(code);
    assert.equal(
      await s.storage.recovery.consume(s.id, hashInviteCode(code), s.now(), ["reset", "recovery"]),
      undefined,
    );
    const c1 = await s.service.challengeFor(await s.user(), client.ip);
    assert.ok(c1);
    await s.service.completeLogin(c1.challenge, code.toLowerCase(), client);
    assert.equal((await s.service.status(await s.user())).recoveryCodesLeft, 9);
    const c2 = await s.service.challengeFor(await s.user(), client.ip);
    assert.ok(c2);
    await assert.rejects(s.service.completeLogin(c2.challenge, code, client), isCode("totp_invalid"));
  });

  test("wrong codes count toward the IP block like wrong passwords", async (t) => {
    const s = await enrolled(t, { maxFailures: 3 });
    const c = await s.service.challengeFor(await s.user(), client.ip);
    assert.ok(c);
    const wrong = codeAt(s.secret, T0) === "123456" ? "654321" : "123456";
    for (let i = 0; i < 3; i++)
      await assert.rejects(s.service.completeLogin(c.challenge, wrong, client), isCode("totp_invalid"));
    await assert.rejects(
      s.service.completeLogin(c.challenge, codeAt(s.secret, T0 + STEP), client),
      isCode("ip_blocked"),
      "a right code from a blocked address is refused too",
    );
    assert.equal(s.audits.filter((a) => a.kind === "totp_failed").length, 3);
  });

  test("a challenge is bound to its address, expires, and allows a few tries only", async (t) => {
    const s = await enrolled(t);
    const c = await s.service.challengeFor(await s.user(), client.ip);
    assert.ok(c);
    const other = { ip: "10.0.0.99", userAgent: null };
    await assert.rejects(
      s.service.completeLogin(c.challenge, codeAt(s.secret, T0 + STEP), other),
      isCode("login_challenge_invalid"),
    );
    const wrong = codeAt(s.secret, T0) === "123456" ? "654321" : "123456";
    for (let i = 1; i < LOGIN_CHALLENGE_MAX_ATTEMPTS; i++)
      await assert.rejects(s.service.completeLogin(c.challenge, wrong, client), isCode("totp_invalid"));
    await assert.rejects(
      s.service.completeLogin(c.challenge, codeAt(s.secret, T0 + STEP), client),
      isCode("login_challenge_invalid"),
      "out of tries",
    );
    const late = await s.service.challengeFor(await s.user(), client.ip);
    assert.ok(late);
    s.at(T0 + LOGIN_CHALLENGE_TTL_S * 1000);
    await assert.rejects(
      s.service.completeLogin(late.challenge, codeAt(s.secret, s.now()), client),
      isCode("login_challenge_invalid"),
    );
  });

  test("REQUIRE_TOTP=admins makes an admin enrol at sign-in, and keeps TOTP on", async (t) => {
    const s = await setup(t, { require: "admins" });
    assert.equal(await s.service.challengeFor(await s.user(), client.ip), undefined, "not for others");
    const c = await s.service.challengeFor(await s.user(s.adminId), client.ip);
    assert.ok(c);
    assert.equal(c.next, "totp_enrol");
    await assert.rejects(
      s.service.completeLogin(c.challenge, "123456", client),
      isCode("login_challenge_invalid"),
    );
    const { secret } = await s.service.enrolForLogin(c.challenge, client);
    const done = await s.service.confirmForLogin(c.challenge, codeAt(secret, T0), client);
    assert.equal(done.user.id, s.adminId);
    assert.equal(done.recoveryCodes.length, 10);
    assert.equal((await s.service.challengeFor(await s.user(s.adminId), client.ip))?.next, "totp");
    s.at(T0 + 2 * STEP);
    await assert.rejects(
      s.service.disable(s.adminId, PASSWORD, codeAt(secret, s.now()), client),
      isCode("totp_required"),
    );
  });

  test("turning TOTP off needs the password and a code, and drops the recovery codes", async (t) => {
    const s = await enrolled(t);
    s.at(T0 + 3 * STEP);
    await assert.rejects(
      s.service.disable(s.id, "wrong", codeAt(s.secret, s.now()), client),
      isCode("invalid_credentials"),
    );
    const wrong = codeAt(s.secret, s.now()) === "123456" ? "654321" : "123456";
    await assert.rejects(s.service.disable(s.id, PASSWORD, wrong, client), isCode("totp_invalid"));
    await s.service.disable(s.id, PASSWORD, codeAt(s.secret, s.now()), client);
    assert.deepEqual(await s.service.status(await s.user()), {
      enabled: false,
      required: false,
      recoveryCodesLeft: 0,
    });
    assert.equal(await s.storage.recovery.countUsable(s.id, "totp", s.now()), 0);
    assert.equal(s.audits.at(-1)?.kind, "totp_disabled");
    await assert.rejects(s.service.disable(s.id, PASSWORD, "123456", client), isCode("totp_not_enabled"));
  });
});
