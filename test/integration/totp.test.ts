import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type {
  AdminAuditResponse,
  AdminUsersResponse,
  LoginChallengeResponse,
  LoginEnrolledResponse,
  SessionResponse,
  TotpEnrolment,
  TotpRecoveryCodes,
  TotpStatus,
} from "@parley/protocol";
import type { Config } from "@parley/server";
import { Secret, TOTP } from "otpauth";
import { asUserId } from "../../packages/server/src/domain/ids.js";
import {
  login,
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";

// Optional TOTP (PROTOCOL.md AUTH-13 to AUTH-15) over real HTTPS, with the server's TOTP clock
// under the test's control and codes made from the same secret, as an authenticator app would.

const STEP = 30_000;
type Err = { code: string };

const codeAt = (secret: string, timestamp: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).generate({
    timestamp,
  });
const wrongAt = (secret: string, timestamp: number) =>
  codeAt(secret, timestamp) === "123456" ? "654321" : "123456";

describe("TOTP two-factor sign-in", () => {
  let now = Date.UTC(2026, 0, 1);
  const clock = () => now;
  const servers: TestServer[] = [];
  const start = async (overrides: Partial<Config> = {}) => {
    const ts = await startTestServer(
      { authRatePerMin: 1_000_000, passwordChangesPerHour: 1_000_000, ...overrides },
      { totpClock: clock },
    );
    servers.push(ts);
    return ts;
  };
  after(async () => {
    for (const ts of servers) await ts.stop();
  });

  async function enrol(ts: TestServer, s: SessionResponse) {
    const begun = await request<TotpEnrolment>(ts, "POST", "/api/totp/enrol", {
      token: s.accessToken,
      body: { password: STRONG_PASSWORD },
    });
    assert.equal(begun.status, 200, begun.text);
    const confirmed = await request<TotpRecoveryCodes>(ts, "POST", "/api/totp/confirm", {
      token: s.accessToken,
      body: { code: codeAt(begun.body.secret, now) },
    });
    assert.equal(confirmed.status, 200, confirmed.text);
    return { secret: begun.body.secret, uri: begun.body.uri, recoveryCodes: confirmed.body.recoveryCodes };
  }

  const challengeOf = async (ts: TestServer, username: string) => {
    const res = await login(ts, username);
    assert.equal(res.status, 200, res.text);
    const body = res.body as unknown as LoginChallengeResponse;
    assert.equal(body.next, "totp");
    assert.ok(!("accessToken" in body), "no session before the code");
    return body.challenge;
  };
  const second = (ts: TestServer, challenge: string, code: string) =>
    request<SessionResponse & Err>(ts, "POST", "/api/login/totp", { body: { challenge, code } });

  describe("with TOTP a person chose", () => {
    let ts: TestServer;
    before(async () => {
      ts = await start({ bruteForceMaxFailures: 1_000_000, accountFreeFailures: 1_000_000 });
    });

    it("enrols, then needs a code at login; the secret is never logged or shown again", async () => {
      const name = uniqueName("tina");
      const s = await registerUser(ts, name);
      const { secret, uri, recoveryCodes } = await enrol(ts, s);
      assert.match(uri, new RegExp(`^otpauth://totp/Parley:${name}\\?`));
      assert.equal(recoveryCodes.length, 10);
      const status = await request<TotpStatus>(ts, "GET", "/api/totp", { token: s.accessToken });
      assert.deepEqual(status.body, { enabled: true, required: false, recoveryCodesLeft: 10 });
      assert.ok(!JSON.stringify(status.body).includes(secret));

      now += 2 * STEP;
      const challenge = await challengeOf(ts, name);
      const signedIn = await second(ts, challenge, codeAt(secret, now));
      assert.equal(signedIn.status, 200, signedIn.text);
      assert.equal(signedIn.body.user.username, name);
      const me = await request(ts, "GET", "/api/me", { token: signedIn.body.accessToken });
      assert.equal(me.status, 200);
      const logs = ts.logs.join("");
      assert.ok(!logs.includes(secret), "the secret is not in the log");
      assert.ok(!logs.includes(challenge), "the challenge is not in the log");
      for (const code of recoveryCodes) assert.ok(!logs.includes(code));
    });

    it("refuses a code replayed within its window, and a challenge used once", async () => {
      const name = uniqueName("rita");
      const { secret } = await enrol(ts, await registerUser(ts, name));
      now += 3 * STEP;
      const code = codeAt(secret, now);
      const first = await challengeOf(ts, name);
      assert.equal((await second(ts, first, code)).status, 200);
      assert.equal((await second(ts, first, code)).body.code, "login_challenge_invalid");
      const again = await challengeOf(ts, name);
      const replay = await second(ts, again, code);
      assert.equal(replay.status, 401);
      assert.equal(replay.body.code, "totp_invalid");
    });

    it("takes each recovery code once in place of a code", async () => {
      const name = uniqueName("rob");
      const { recoveryCodes } = await enrol(ts, await registerUser(ts, name));
      const [code] = recoveryCodes;
      assert.ok(code);
      assert.equal((await second(ts, await challengeOf(ts, name), code)).status, 200);
      const reused = await second(ts, await challengeOf(ts, name), code);
      assert.equal(reused.body.code, "totp_invalid");
      const reset = await request<Err>(ts, "POST", "/api/password/reset", {
        body: { username: name, code: recoveryCodes[1], newPassword: "Fresh-Meadow-Lantern-4" },
      });
      assert.equal(reset.body.code, "reset_code_invalid", "a TOTP recovery code never resets a password");
    });

    it("turns off with the password and a code, after which the password alone signs in", async () => {
      const name = uniqueName("otto");
      const s = await registerUser(ts, name);
      const { secret } = await enrol(ts, s);
      now += 5 * STEP;
      const off = await request<Err>(ts, "POST", "/api/totp/disable", {
        token: s.accessToken,
        body: { password: STRONG_PASSWORD, code: codeAt(secret, now) },
      });
      assert.equal(off.status, 204, off.text);
      const res = await login(ts, name);
      assert.ok(res.body.accessToken);
    });
  });

  it("counts wrong codes toward the IP block like wrong passwords", async () => {
    const ts = await start({ bruteForceMaxFailures: 3, accountFreeFailures: 1_000_000 });
    const name = uniqueName("ivy");
    const { secret } = await enrol(ts, await registerUser(ts, name));
    now += 7 * STEP;
    const challenge = await challengeOf(ts, name);
    for (let i = 0; i < 3; i++)
      assert.equal((await second(ts, challenge, wrongAt(secret, now))).body.code, "totp_invalid");
    const right = await second(ts, challenge, codeAt(secret, now));
    assert.equal(right.status, 403);
    assert.equal(right.body.code, "ip_blocked");
    assert.ok(Number(right.headers["retry-after"]) > 0);
    const password = await login(ts, name);
    assert.equal((password.body as unknown as Err).code, "ip_blocked", "the password step is blocked too");
  });

  it("PARLEY_REQUIRE_TOTP=admins makes an admin enrol at next sign-in before anything else", async () => {
    const ts = await start({ requireTotp: "admins", bruteForceMaxFailures: 1_000_000 });
    const name = uniqueName("adm");
    const s = await registerUser(ts, name);
    await ts.server.storage.setUserAdmin(asUserId(s.user.id), true);
    const member = await login(ts, (await registerUser(ts)).user.username);
    assert.ok(member.body.accessToken, "others sign in with the password alone");

    const res = await login(ts, name);
    const c = res.body as unknown as LoginChallengeResponse;
    assert.equal(c.next, "totp_enrol");
    const skip = await second(ts, c.challenge, "123456");
    assert.equal(skip.body.code, "login_challenge_invalid", "no way round the enrolment");
    const enrolment = await request<TotpEnrolment>(ts, "POST", "/api/login/totp/enrol", {
      body: { challenge: c.challenge },
    });
    assert.equal(enrolment.status, 200, enrolment.text);
    const done = await request<LoginEnrolledResponse>(ts, "POST", "/api/login/totp/confirm", {
      body: { challenge: c.challenge, code: codeAt(enrolment.body.secret, now) },
    });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.recoveryCodes.length, 10);
    const token = done.body.session.accessToken;
    const status = await request<TotpStatus>(ts, "GET", "/api/totp", { token });
    assert.deepEqual(status.body, { enabled: true, required: true, recoveryCodesLeft: 10 });
    now += STEP;
    const off = await request<Err>(ts, "POST", "/api/totp/disable", {
      token,
      body: { password: STRONG_PASSWORD, code: codeAt(enrolment.body.secret, now) },
    });
    assert.equal(off.body.code, "totp_required");
    const next = await login(ts, name);
    assert.equal((next.body as unknown as LoginChallengeResponse).next, "totp");

    const audit = await request<AdminAuditResponse>(ts, "GET", "/api/admin/audit?kind=totp_enabled", {
      token,
    });
    assert.equal(audit.status, 200, audit.text);
    assert.ok(audit.body.entries.some((e) => e.username === name));
  });

  describe("cleared by an admin (AUTH-16)", () => {
    const clearTotp = (ts: TestServer, token: string, userId: string) =>
      request<{ sessions: number } & Err>(ts, "DELETE", `/api/admin/users/${userId}/totp`, { token });
    const adminOn = async (ts: TestServer) => {
      const a = await registerUser(ts, uniqueName("ops"));
      await ts.server.storage.setUserAdmin(asUserId(a.user.id), true);
      return a;
    };

    it("turns TOTP off for a locked-out person, ends their sessions and voids their codes", async () => {
      const ts = await start({ bruteForceMaxFailures: 1_000_000, accountFreeFailures: 1_000_000 });
      const admin = await adminOn(ts);
      const name = uniqueName("lost");
      const s = await registerUser(ts, name);
      const { recoveryCodes } = await enrol(ts, s);
      const listed = await request<AdminUsersResponse>(ts, "GET", "/api/admin/users", {
        token: admin.accessToken,
      });
      assert.equal(listed.body.users.find((u) => u.id === s.user.id)?.totp, true);
      const pending = await challengeOf(ts, name);

      const cleared = await clearTotp(ts, admin.accessToken, s.user.id);
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal(cleared.body.sessions, 1);
      const old = await request<Err>(ts, "GET", "/api/me", { token: s.accessToken });
      assert.equal(old.status, 401, "the person's session ended");
      const refreshed = await request<Err>(ts, "POST", "/api/token/refresh", {
        body: { refreshToken: s.refreshToken },
      });
      assert.equal(refreshed.status, 401);
      assert.equal(
        (await second(ts, pending, recoveryCodes[0] ?? "")).body.code,
        "login_challenge_invalid",
        "a challenge handed out before is worthless",
      );
      const res = await login(ts, name);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.accessToken, "the password alone signs in");
      const status = await request<TotpStatus>(ts, "GET", "/api/totp", { token: res.body.accessToken });
      assert.deepEqual(status.body, { enabled: false, required: false, recoveryCodesLeft: 0 });
      const after = await request<AdminUsersResponse>(ts, "GET", "/api/admin/users", {
        token: admin.accessToken,
      });
      assert.equal(after.body.users.find((u) => u.id === s.user.id)?.totp, false);

      const again = await clearTotp(ts, admin.accessToken, s.user.id);
      assert.equal(again.status, 409);
      assert.equal(again.body.code, "totp_not_enabled");
      const audit = await request<AdminAuditResponse>(ts, "GET", "/api/admin/audit?kind=totp_cleared", {
        token: admin.accessToken,
      });
      const entry = audit.body.entries.find((e) => e.userId === s.user.id);
      assert.equal(entry?.actorId, admin.user.id);
      assert.deepEqual(entry?.details, { sessions: 1, mustEnrol: false });
    });

    it("is refused to a non-admin and to an admin for their own account", async () => {
      const ts = await start({ bruteForceMaxFailures: 1_000_000, accountFreeFailures: 1_000_000 });
      const admin = await adminOn(ts);
      await enrol(ts, admin);
      const victim = await registerUser(ts, uniqueName("vic"));
      await enrol(ts, victim);
      const mallory = await registerUser(ts, uniqueName("mal"));
      const refused = await clearTotp(ts, mallory.accessToken, victim.user.id);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, "admin_required");
      const self = await clearTotp(ts, admin.accessToken, admin.user.id);
      assert.equal(self.body.code, "invalid_target");
      const ghost = await clearTotp(ts, admin.accessToken, "u_doesnotexist0000000000");
      assert.equal(ghost.status, 404, ghost.text);
      assert.equal(ghost.body.code, "user_not_found");
      const bad = await clearTotp(ts, admin.accessToken, "x".repeat(65));
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, "validation_failed");
      const still = await request<TotpStatus>(ts, "GET", "/api/totp", { token: victim.accessToken });
      assert.equal(still.body.enabled, true, "nothing was cleared");
    });

    it("under PARLEY_REQUIRE_TOTP the person enrols a new authenticator at the next sign-in", async () => {
      const ts = await start({ requireTotp: "all", bruteForceMaxFailures: 1_000_000 });
      const adminName = uniqueName("boss");
      const first = await registerUser(ts, adminName);
      await ts.server.storage.setUserAdmin(asUserId(first.user.id), true);
      const name = uniqueName("req");
      await registerUser(ts, name);
      const enrolled = async (who: string) => {
        const c = (await login(ts, who)).body as unknown as LoginChallengeResponse;
        assert.equal(c.next, "totp_enrol");
        const e = await request<TotpEnrolment>(ts, "POST", "/api/login/totp/enrol", {
          body: { challenge: c.challenge },
        });
        const done = await request<LoginEnrolledResponse>(ts, "POST", "/api/login/totp/confirm", {
          body: { challenge: c.challenge, code: codeAt(e.body.secret, now) },
        });
        assert.equal(done.status, 200, done.text);
        return done.body.session;
      };
      const admin = await enrolled(adminName);
      const person = await enrolled(name);
      now += 2 * STEP;
      const cleared = await clearTotp(ts, admin.accessToken, person.user.id);
      assert.equal(cleared.status, 200, cleared.text);
      const next = (await login(ts, name)).body as unknown as LoginChallengeResponse;
      assert.equal(next.next, "totp_enrol", "no way in without a new authenticator");
      const audit = await request<AdminAuditResponse>(ts, "GET", "/api/admin/audit?kind=totp_cleared", {
        token: admin.accessToken,
      });
      assert.equal(audit.body.entries.find((e) => e.userId === person.user.id)?.details.mustEnrol, true);
    });
  });
});
