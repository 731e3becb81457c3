import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  InfoResponse,
  MeResponse,
  PROTOCOL_VERSION,
  type SessionResponse,
  SessionResponse as SessionResponseSchema,
  UsersResponse,
} from "@parley/protocol";
import { PASSWORD_POLICIES } from "@parley/protocol/password-policy";
import { SignJWT } from "jose";
import { Value } from "typebox/value";
import { hashInviteCode, newInviteCode } from "../../packages/server/src/domain/tokens.js";
import {
  login,
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { type Closed, TestSocket } from "./support/ws-client.js";

// Every account endpoint over real HTTPS: register, login, refresh, logout, password change,
// /api/me with every kind of bad token, /api/users and /api/info.

/** The brute-force defences have their own file (brute-force.test.ts); here they must stay out of the way. */
const QUIET_IDS = {
  bruteForceMaxFailures: 1_000_000,
  accountFreeFailures: 1_000_000,
  authRatePerMin: 1_000_000,
};
const NEW_PASSWORD = "Brand-New-Lantern-42";

type Err = { code: string; failedRules?: string[]; retryAfterMs?: number };

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits (bounded) for the server to close a socket and returns how. */
function closedOf(socket: TestSocket): Promise<Closed> {
  return within(socket.closed, 5000, "socket close");
}

function register(ts: TestServer, body: Record<string, unknown>) {
  return request<SessionResponse & Err>(ts, "POST", "/api/register", { body });
}

function me(ts: TestServer, token?: string, headers?: Record<string, string>) {
  return request<Err>(ts, "GET", "/api/me", {
    ...(token !== undefined ? { token } : {}),
    ...(headers ? { headers } : {}),
  });
}

function refresh(ts: TestServer, refreshToken: string) {
  return request<SessionResponse & Err>(ts, "POST", "/api/token/refresh", { body: { refreshToken } });
}

function assertSession(body: unknown, username: string): asserts body is SessionResponse {
  assert.ok(Value.Check(SessionResponseSchema, body), `not a SessionResponse: ${JSON.stringify(body)}`);
  const s = body as SessionResponse;
  assert.equal(s.user.username, username);
  assert.equal(s.user.isAdmin, false);
  assert.equal(s.accessToken.split(".").length, 3);
  assert.ok(s.refreshToken.startsWith("prt_"));
  assert.ok(s.accessTokenExpiresAt > Date.now());
  assert.ok(s.refreshTokenExpiresAt > s.accessTokenExpiresAt);
}

describe("accounts (registration open)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(QUIET_IDS);
  });
  after(async () => {
    await ts?.stop();
  });

  describe("POST /api/register", () => {
    it("creates an account and answers 201 with a session", async () => {
      const username = uniqueName("reg");
      const res = await register(ts, { username, password: STRONG_PASSWORD });
      assert.equal(res.status, 201);
      assertSession(res.body, username);
      assert.equal((await me(ts, res.body.accessToken)).status, 200);
    });

    it("accepts usernames of exactly 3 and exactly 32 characters", async () => {
      for (const username of [
        `a${randomBytes(1).toString("hex")}`,
        `n${randomBytes(4).toString("hex")}`.padEnd(32, "x"),
      ]) {
        assert.ok(username.length === 3 || username.length === 32, username);
        const res = await register(ts, { username, password: STRONG_PASSWORD });
        assert.equal(res.status, 201, `${username}: ${res.text}`);
      }
    });

    for (const [why, username] of [
      ["that is too short", "ab"],
      ["that is too long", "a".repeat(33)],
      ["with a space", "bad name"],
      ["with a slash", "bad/name"],
      ["with a non-ASCII letter", "émile"],
      ["with a leading dot", ".dotted"],
      ["with a trailing dash", "dashed-"],
    ] as const) {
      it(`refuses a username ${why} as invalid_username`, async () => {
        const res = await register(ts, { username, password: STRONG_PASSWORD });
        assert.equal(res.status, 400);
        assert.equal(res.body.code, "invalid_username");
      });
    }

    it("refuses a taken username as username_taken 409, also in another case", async () => {
      const username = uniqueName("taken");
      await registerUser(ts, username);
      for (const again of [username, username.toUpperCase()]) {
        const res = await register(ts, { username: again, password: STRONG_PASSWORD });
        assert.equal(res.status, 409);
        assert.equal(res.body.code, "username_taken");
      }
    });

    it("names exactly the password rules that failed", async () => {
      const username = uniqueName("pw");
      const cases: [string, string[]][] = [
        ["Short-Pw1", ["too_short"]],
        [`Aa!${"x".repeat(126)}`, ["too_long"]],
        ["quiet-harbour-lamp-7", ["needs_uppercase"]],
        ["QuietHarbourLamp7", ["needs_special"]],
        ["Password123!", ["common_password"]],
        [`Quiet-${username.toUpperCase()}`, ["contains_username"]],
        ["qzv", ["too_short", "needs_uppercase", "needs_special"]],
      ];
      for (const [password, failedRules] of cases) {
        const res = await register(ts, { username, password });
        assert.equal(res.status, 400, password);
        assert.equal(res.body.code, "password_policy", password);
        assert.deepEqual(res.body.failedRules, failedRules, password);
      }
      // None of those attempts created the account.
      assert.equal((await register(ts, { username, password: STRONG_PASSWORD })).status, 201);
    });
  });

  describe("POST /api/login", () => {
    it("signs in with the right password and opens a new session", async () => {
      const username = uniqueName("login");
      const first = await registerUser(ts, username);
      const res = await login(ts, username);
      assert.equal(res.status, 200);
      assertSession(res.body, username);
      assert.equal(res.body.user.id, first.user.id);
      assert.notEqual(res.body.sessionId, first.sessionId);
    });

    it("answers a wrong password and an unknown user with the same status and body", async () => {
      const username = uniqueName("login");
      await registerUser(ts, username);
      const wrong = await login(ts, username, "Wrong-Password-99");
      const unknown = await login(ts, uniqueName("ghost"), "Wrong-Password-99");
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, wrong.status);
      assert.equal((wrong.body as unknown as Err).code, "invalid_credentials");
      assert.deepEqual(unknown.body, wrong.body);
    });
  });

  describe("GET /api/me and access tokens", () => {
    let session: SessionResponse;
    let secret: Uint8Array;
    before(async () => {
      session = await registerUser(ts, uniqueName("tok"));
      secret = new Uint8Array(await readFile(join(ts.dataDir, "jwt.secret")));
    });

    /** A token with the server's claims for `session`; `claims` and `header` override them. */
    function forge(
      key: Uint8Array,
      claims: Record<string, unknown> = {},
      header: { alg?: string; typ?: string } = {},
    ): Promise<string> {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: "parley",
        aud: "parley-clients",
        sub: session.user.id,
        sid: session.sessionId,
        name: session.user.username,
        iat: now,
        nbf: now,
        exp: now + 900,
        jti: randomBytes(16).toString("base64url"),
        ...claims,
      })
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt", ...header })
        .sign(key);
    }

    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

    it("answers the account and session for a valid token", async () => {
      const res = await me(ts, session.accessToken);
      assert.equal(res.status, 200);
      assert.ok(Value.Check(MeResponse, res.body));
      assert.deepEqual(res.body, { user: session.user, sessionId: session.sessionId });
    });

    it("accepts a hand-made token with the server's secret and claims (so the cases below fail for one reason each)", async () => {
      assert.equal((await me(ts, await forge(secret))).status, 200);
    });

    const cases: [string, () => Promise<{ token?: string; headers?: Record<string, string> }>][] = [
      ["no Authorization header", async () => ({})],
      ["a garbage bearer token", async () => ({ token: "not.a.jwt" })],
      [
        "characters a bearer token may not hold",
        async () => ({ headers: { authorization: "Bearer a b<c>" } }),
      ],
      ["a Basic scheme", async () => ({ headers: { authorization: "Basic dXNlcjpwYXNz" } })],
      [
        "alg none",
        async () => {
          const now = Math.floor(Date.now() / 1000);
          const claims = {
            iss: "parley",
            aud: "parley-clients",
            sub: session.user.id,
            sid: session.sessionId,
            name: session.user.username,
            iat: now,
            nbf: now,
            exp: now + 900,
            jti: "AAAAAAAAAAAAAAAAAAAAAA",
          };
          return { token: `${b64({ alg: "none", typ: "at+jwt" })}.${b64(claims)}.` };
        },
      ],
      ["a token signed with another secret", async () => ({ token: await forge(randomBytes(32)) })],
      [
        "an algorithm off the allow-list (HS512)",
        async () => ({ token: await forge(secret, {}, { alg: "HS512" }) }),
      ],
      ["a wrong issuer", async () => ({ token: await forge(secret, { iss: "someone-else" }) })],
      ["a wrong audience", async () => ({ token: await forge(secret, { aud: "other-clients" }) })],
      ["a wrong typ (JWT)", async () => ({ token: await forge(secret, {}, { typ: "JWT" }) })],
      [
        "a token that is not valid yet (nbf in the future)",
        async () => ({ token: await forge(secret, { nbf: Math.floor(Date.now() / 1000) + 600 }) }),
      ],
      ["a refresh token used as a bearer token", async () => ({ token: session.refreshToken })],
    ];
    for (const [why, make] of cases) {
      it(`answers 401 token_invalid for ${why}`, async () => {
        const { token, headers } = await make();
        const res = await me(ts, token, headers);
        assert.equal(res.status, 401);
        assert.equal(res.body.code, "token_invalid");
      });
    }

    it("answers 401 token_expired for an expired token signed with the server's secret", async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await forge(secret, { iat: now - 1000, nbf: now - 1000, exp: now - 100 });
      const res = await me(ts, token);
      assert.equal(res.status, 401);
      assert.equal(res.body.code, "token_expired");
    });
  });

  describe("POST /api/token/refresh", () => {
    it("rotates: the new tokens work and the used refresh token is spent", async () => {
      const s = await registerUser(ts, uniqueName("rot"));
      const r1 = await refresh(ts, s.refreshToken);
      assert.equal(r1.status, 200);
      assertSession(r1.body, s.user.username);
      assert.equal(r1.body.sessionId, s.sessionId);
      assert.notEqual(r1.body.refreshToken, s.refreshToken);
      assert.equal((await me(ts, r1.body.accessToken)).status, 200);
      const r2 = await refresh(ts, r1.body.refreshToken);
      assert.equal(r2.status, 200);
      assert.equal((await me(ts, r2.body.accessToken)).status, 200);
    });

    it("refuses an unknown refresh token as refresh_token_invalid", async () => {
      const res = await refresh(ts, `prt_${randomBytes(32).toString("base64url")}`);
      assert.equal(res.status, 401);
      assert.equal(res.body.code, "refresh_token_invalid");
    });

    it("ends the whole session when a rotated refresh token is presented again", async () => {
      const s = await registerUser(ts, uniqueName("reuse"));
      const r1 = await refresh(ts, s.refreshToken);
      const r2 = await refresh(ts, r1.body.refreshToken);
      assert.equal(r2.status, 200);
      const socket = await TestSocket.authed(ts, r2.body.accessToken);

      const replay = await refresh(ts, s.refreshToken);
      assert.equal(replay.status, 401);
      assert.equal(replay.body.code, "refresh_token_invalid");

      const newest = await me(ts, r2.body.accessToken);
      assert.equal(newest.status, 401);
      assert.equal(newest.body.code, "session_revoked");
      assert.equal((await refresh(ts, r2.body.refreshToken)).body.code, "refresh_token_invalid");
      assert.equal((await closedOf(socket)).code, 1008);
    });
  });

  describe("POST /api/logout", () => {
    it("ends the session: 204, the access token is revoked, the refresh token is dead, its socket is closed with 1008", async () => {
      const s = await registerUser(ts, uniqueName("bye"));
      const socket = await TestSocket.authed(ts, s.accessToken);
      const res = await request(ts, "POST", "/api/logout", { token: s.accessToken });
      assert.equal(res.status, 204);

      const error = await socket.next("error", 5000);
      assert.equal(error.code, "session_revoked");
      const closed = await closedOf(socket);
      assert.equal(closed.code, 1008);
      assert.equal(closed.reason, "session_revoked");

      const after = await me(ts, s.accessToken);
      assert.equal(after.status, 401);
      assert.equal(after.body.code, "session_revoked");
      const again = await refresh(ts, s.refreshToken);
      assert.equal(again.status, 401);
      assert.equal(again.body.code, "refresh_token_invalid");
    });

    it("leaves the account's other sessions signed in", async () => {
      const username = uniqueName("bye");
      const a = await registerUser(ts, username);
      const b = (await login(ts, username)).body;
      const socketB = await TestSocket.authed(ts, b.accessToken);
      assert.equal((await request(ts, "POST", "/api/logout", { token: a.accessToken })).status, 204);
      assert.equal((await me(ts, b.accessToken)).status, 200);
      assert.equal((await socketB.call({ type: "subscriptions.list" })).type, "subscriptions");
      socketB.close();
    });

    it("refuses a logout without a token as token_invalid", async () => {
      const res = await request<Err>(ts, "POST", "/api/logout");
      assert.equal(res.status, 401);
      assert.equal(res.body.code, "token_invalid");
    });
  });

  describe("POST /api/password", () => {
    function change(token: string, currentPassword: string, newPassword: string) {
      return request<Err>(ts, "POST", "/api/password", { token, body: { currentPassword, newPassword } });
    }

    it("refuses a wrong current password as invalid_credentials", async () => {
      const s = await registerUser(ts, uniqueName("chg"));
      const res = await change(s.accessToken, "Not-The-Password-1", NEW_PASSWORD);
      assert.equal(res.status, 401);
      assert.equal(res.body.code, "invalid_credentials");
      assert.equal((await login(ts, s.user.username)).status, 200);
    });

    it("refuses a new password that fails the policy, naming the rules", async () => {
      const s = await registerUser(ts, uniqueName("chg"));
      const res = await change(s.accessToken, STRONG_PASSWORD, "QuietHarbourLamp7");
      assert.equal(res.status, 400);
      assert.equal(res.body.code, "password_policy");
      assert.deepEqual(res.body.failedRules, ["needs_special"]);
      assert.equal((await login(ts, s.user.username)).status, 200);
    });

    it("changes the password and ends every other session, closing their sockets with 1008", async () => {
      const username = uniqueName("chg");
      const current = await registerUser(ts, username);
      const other = (await login(ts, username)).body;
      const currentSocket = await TestSocket.authed(ts, current.accessToken);
      const otherSocket = await TestSocket.authed(ts, other.accessToken);

      assert.equal((await change(current.accessToken, STRONG_PASSWORD, NEW_PASSWORD)).status, 204);

      assert.equal((await closedOf(otherSocket)).code, 1008);
      const otherMe = await me(ts, other.accessToken);
      assert.equal(otherMe.status, 401);
      assert.equal(otherMe.body.code, "session_revoked");
      assert.equal((await refresh(ts, other.refreshToken)).body.code, "refresh_token_invalid");

      assert.equal((await me(ts, current.accessToken)).status, 200);
      assert.equal((await currentSocket.call({ type: "subscriptions.list" })).type, "subscriptions");
      assert.equal((await refresh(ts, current.refreshToken)).status, 200);

      const old = await login(ts, username, STRONG_PASSWORD);
      assert.equal(old.status, 401);
      assert.equal((old.body as unknown as Err).code, "invalid_credentials");
      assert.equal((await login(ts, username, NEW_PASSWORD)).status, 200);
      currentSocket.close();
    });
  });

  describe("GET /api/users", () => {
    it("lists users with online true only for those with an open socket", async () => {
      const online = await registerUser(ts, uniqueName("on"));
      const offline = await registerUser(ts, uniqueName("off"));
      const socket = await TestSocket.authed(ts, online.accessToken);

      const res = await request<UsersResponse>(ts, "GET", "/api/users", { token: offline.accessToken });
      assert.equal(res.status, 200);
      assert.ok(Value.Check(UsersResponse, res.body));
      const byId = new Map(res.body.users.map((u) => [u.id, u]));
      assert.deepEqual(byId.get(online.user.id), {
        id: online.user.id,
        username: online.user.username,
        online: true,
      });
      assert.deepEqual(byId.get(offline.user.id), {
        id: offline.user.id,
        username: offline.user.username,
        online: false,
      });
      for (const u of res.body.users) assert.deepEqual(Object.keys(u).sort(), ["id", "online", "username"]);

      socket.close();
      await closedOf(socket);
      await within(
        (async () => {
          for (;;) {
            const again = await request<UsersResponse>(ts, "GET", "/api/users", {
              token: offline.accessToken,
            });
            if (again.body.users.find((u) => u.id === online.user.id)?.online === false) return;
            await new Promise((r) => setTimeout(r, 50));
          }
        })(),
        5000,
        "going offline",
      );
    });

    it("needs a token", async () => {
      const res = await request<Err>(ts, "GET", "/api/users");
      assert.equal(res.status, 401);
      assert.equal(res.body.code, "token_invalid");
    });
  });

  describe("GET /api/info", () => {
    it("describes the server without a token", async () => {
      const res = await request<InfoResponse>(ts, "GET", "/api/info");
      assert.equal(res.status, 200);
      assert.ok(Value.Check(InfoResponse, res.body), JSON.stringify(res.body));
      assert.equal(res.body.name, "parley");
      assert.equal(res.body.protocolVersion, PROTOCOL_VERSION);
      assert.equal(res.body.registration, "open");
      assert.deepEqual(res.body.passwordPolicy, { ...PASSWORD_POLICIES.default });
      assert.deepEqual(res.body.limits, {
        maxFrameBytes: ts.server.config.maxFrameBytes,
        messageRate: ts.server.config.frameRate,
        messageBurst: ts.server.config.frameBurst,
      });
      assert.match(res.body.caFingerprint ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      // The default keeps no message at all, and says so to the clients.
      assert.deepEqual(res.body.storage, { messages: "none" });
    });
  });
});

describe("accounts (offline queue on)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ ...QUIET_IDS, offlineQueue: "on", offlineQueueTtlS: 3600 });
  });
  after(async () => {
    await ts?.stop();
  });

  it("says in /api/info that ciphertext waits for a device that is away, and for how long", async () => {
    const res = await request<InfoResponse>(ts, "GET", "/api/info");
    assert.equal(res.status, 200);
    assert.ok(Value.Check(InfoResponse, res.body), JSON.stringify(res.body));
    assert.deepEqual(res.body.storage, { messages: "queue", queueTtlSeconds: 3600 });
  });
});

describe("accounts (registration closed)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ ...QUIET_IDS, registration: "closed" });
  });
  after(async () => {
    await ts?.stop();
  });

  it("refuses every registration as registration_closed and says so in /api/info", async () => {
    const res = await register(ts, { username: uniqueName("closed"), password: STRONG_PASSWORD });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "registration_closed");
    assert.equal((await request<InfoResponse>(ts, "GET", "/api/info")).body.registration, "closed");
  });
});

describe("accounts (registration by invite)", () => {
  let ts: TestServer;
  let adminId: string;
  before(async () => {
    ts = await startTestServer({ ...QUIET_IDS, registration: "invite" });
    // Admins are made from the server's console; here, straight in the database.
    adminId = randomUUID();
    await ts.server.storage.createUser({
      id: adminId as never,
      username: uniqueName("admin"),
      passwordHash: "not-a-login",
      isAdmin: true,
      createdAt: Date.now(),
    });
  });
  after(async () => {
    await ts?.stop();
  });

  async function invite(expiresAt = Date.now() + 3_600_000): Promise<string> {
    const { code } = newInviteCode();
    await ts.server.storage.createInvite({
      id: hashInviteCode(code).slice(0, 16),
      codeHash: hashInviteCode(code),
      createdBy: adminId as never,
      createdAt: Date.now(),
      expiresAt,
    });
    return code;
  }

  it("refuses a registration without a code as invite_required", async () => {
    const res = await register(ts, { username: uniqueName("inv"), password: STRONG_PASSWORD });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "invite_required");
  });

  it("refuses a bogus code as invite_invalid", async () => {
    const res = await register(ts, {
      username: uniqueName("inv"),
      password: STRONG_PASSWORD,
      inviteCode: "AAAA-BBBB-CCCC-DDDD",
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "invite_invalid");
  });

  it("refuses an expired code as invite_invalid", async () => {
    const code = await invite(Date.now() - 1000);
    const res = await register(ts, {
      username: uniqueName("inv"),
      password: STRONG_PASSWORD,
      inviteCode: code,
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "invite_invalid");
  });

  it("registers with a valid code, which cannot be used twice", async () => {
    const code = await invite();
    const username = uniqueName("inv");
    const res = await register(ts, { username, password: STRONG_PASSWORD, inviteCode: code });
    assert.equal(res.status, 201);
    assertSession(res.body, username);

    const again = await register(ts, {
      username: uniqueName("inv"),
      password: STRONG_PASSWORD,
      inviteCode: code,
    });
    assert.equal(again.status, 403);
    assert.equal(again.body.code, "invite_invalid");
  });

  it("does not spend a code on a taken username", async () => {
    const taken = uniqueName("inv");
    assert.equal(
      (await register(ts, { username: taken, password: STRONG_PASSWORD, inviteCode: await invite() })).status,
      201,
    );
    const code = await invite();
    const clash = await register(ts, {
      username: taken.toUpperCase(),
      password: STRONG_PASSWORD,
      inviteCode: code,
    });
    assert.equal(clash.status, 409);
    assert.equal(clash.body.code, "username_taken");
    const res = await register(ts, {
      username: uniqueName("inv"),
      password: STRONG_PASSWORD,
      inviteCode: code,
    });
    assert.equal(res.status, 201);
  });
});
