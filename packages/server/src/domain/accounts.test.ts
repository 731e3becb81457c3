import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, type TestContext, test } from "node:test";
import type { LoginChallengeResponse, SessionResponse } from "@parley/protocol";
import { PASSWORD_POLICIES } from "@parley/protocol/password-policy";
import { AccountService } from "./accounts.js";
import { ParleyError } from "./errors.js";
import type { SessionId } from "./ids.js";
import { memoryLimiters } from "./limiters.js";
import { LoginGuard } from "./login-guard.js";
import { tempStorage } from "./test-support.js";
import { TokenService } from "./tokens.js";

const PASSWORD = "Quiet-Harbour-Lamp-7";
const code = (c: string) => (e: unknown) => e instanceof ParleyError && e.code === c;

/** A login without a second factor answers a session. */
function signedIn(answer: SessionResponse | LoginChallengeResponse): SessionResponse {
  assert.ok("accessToken" in answer, "a session, not a challenge");
  return answer;
}

async function fixture(t: TestContext, registration: "open" | "invite" | "closed" = "open") {
  const storage = await tempStorage(t);
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
  const revoked: [SessionId, string][] = [];
  const accounts = new AccountService({
    storage,
    tokens: new TokenService({ secret: randomBytes(32), issuer: "parley", audience: "parley-clients" }),
    guard,
    policy: PASSWORD_POLICIES.default,
    registration,
    onSessionRevoked: (id, reason) => revoked.push([id, reason]),
  });
  return { storage, accounts, revoked };
}

describe("AccountService", () => {
  test("registers an account whose access token authenticates (AUTH-1, AUTH-5)", async (t) => {
    const { accounts } = await fixture(t);
    const session = await accounts.register({ username: "alice", password: PASSWORD });
    const auth = await accounts.authenticate(session.accessToken);
    assert.equal(auth.username, "alice");
    assert.equal(auth.sessionId, session.sessionId);
    await assert.rejects(accounts.authenticate(`${session.accessToken}x`), code("token_invalid"));
  });

  test("refuses a taken name in any letter case, a weak password and closed registration", async (t) => {
    const { accounts } = await fixture(t);
    await accounts.register({ username: "alice", password: PASSWORD });
    await assert.rejects(
      accounts.register({ username: "ALICE", password: PASSWORD }),
      code("username_taken"),
    );
    await assert.rejects(accounts.register({ username: "bob", password: "short" }), code("password_policy"));
    const closed = await fixture(t, "closed");
    await assert.rejects(
      closed.accounts.register({ username: "bob", password: PASSWORD }),
      code("registration_closed"),
    );
    const invite = await fixture(t, "invite");
    await assert.rejects(
      invite.accounts.register({ username: "bob", password: PASSWORD }),
      code("invite_required"),
    );
  });

  test("logs in with the right password only, telling nobody which part was wrong (AUTH-2)", async (t) => {
    const { accounts } = await fixture(t);
    await accounts.register({ username: "alice", password: PASSWORD });
    const session = signedIn(await accounts.login({ username: " alice", password: PASSWORD }, "10.0.0.1"));
    assert.equal((await accounts.authenticate(session.accessToken)).username, "alice");
    await assert.rejects(
      accounts.login({ username: "alice", password: `${PASSWORD}!` }, "10.0.0.1"),
      code("invalid_credentials"),
    );
    await assert.rejects(
      accounts.login({ username: "nobody", password: PASSWORD }, "10.0.0.1"),
      code("invalid_credentials"),
    );
  });

  test("rotates refresh tokens and ends the session when a used one comes back (AUTH-6)", async (t) => {
    const { accounts, revoked } = await fixture(t);
    const first = await accounts.register({ username: "alice", password: PASSWORD });
    const second = await accounts.refresh(first.refreshToken);
    assert.notEqual(second.refreshToken, first.refreshToken);
    await assert.rejects(accounts.refresh(first.refreshToken), code("refresh_token_invalid"));
    assert.deepEqual(revoked, [[first.sessionId, "session_revoked"]]);
    await assert.rejects(accounts.refresh(second.refreshToken), code("refresh_token_invalid"));
    await assert.rejects(accounts.authenticate(second.accessToken), code("session_revoked"));
  });

  test("logout and disabling end sessions and tell the sockets why (AUTH-7)", async (t) => {
    const { accounts, revoked } = await fixture(t);
    const a = await accounts.register({ username: "alice", password: PASSWORD });
    await accounts.logout(await accounts.authenticate(a.accessToken));
    await assert.rejects(accounts.authenticate(a.accessToken), code("session_revoked"));
    const b = signedIn(await accounts.login({ username: "alice", password: PASSWORD }, "10.0.0.1"));
    await accounts.setDisabled((await accounts.authenticate(b.accessToken)).userId, true);
    await assert.rejects(accounts.authenticate(b.accessToken), code("session_revoked"));
    await assert.rejects(
      accounts.login({ username: "alice", password: PASSWORD }, "10.0.0.1"),
      code("account_disabled"),
    );
    assert.deepEqual(
      revoked.map(([, reason]) => reason),
      ["session_revoked", "account_disabled"],
    );
  });
});
