import assert from "node:assert/strict";
import { test } from "node:test";
import { isParleyClientError } from "./errors.js";
import type { FetchLike } from "./platform.js";
import { ServerList } from "./servers.js";
import { SessionManager } from "./session.js";
import { MemoryStore } from "./store.js";

interface Call {
  method: string;
  path: string;
  auth: string | undefined;
  body: unknown;
}

function session(n: number, now: number) {
  return {
    user: { id: "u1", username: "alice", isAdmin: false },
    sessionId: "s1",
    accessToken: `at${n}`,
    accessTokenExpiresAt: now + 15 * 60_000,
    refreshToken: `prt_${n}`,
    refreshTokenExpiresAt: now + 14 * 86_400_000,
  };
}

/** A fake server: `handle` answers each call; every call is recorded. */
function fakeFetch(handle: (c: Call) => { status: number; body?: unknown }) {
  const calls: Call[] = [];
  const fetch: FetchLike = async (url, init) => {
    const call: Call = {
      method: init.method,
      path: new URL(url).pathname,
      auth: init.headers.authorization,
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    await Promise.resolve();
    const { status, body } = handle(call);
    return { status, text: async () => (body === undefined ? "" : JSON.stringify(body)) };
  };
  return { fetch, calls };
}

function manager(handle: (c: Call) => { status: number; body?: unknown }, clock = { now: 1_000_000 }) {
  const store = new MemoryStore();
  const { fetch, calls } = fakeFetch(handle);
  const signedOut: string[] = [];
  const m = new SessionManager({
    servers: new ServerList("https://parley.test/"),
    fetch,
    store,
    now: () => clock.now,
    onSignedOut: (c) => signedOut.push(c),
  });
  return { m, calls, store, clock, signedOut };
}

test("a login that needs a code answers the challenge and stores nothing until the code", async () => {
  const t = manager((c) =>
    c.path === "/api/login"
      ? { status: 200, body: { next: "totp", challenge: "lc_x", expiresAt: 5 } }
      : { status: 200, body: session(1, 1_000_000) },
  );
  const step = await t.m.login("alice", "pw");
  assert.deepEqual(step, { next: "totp", challenge: "lc_x", expiresAt: 5 });
  assert.equal(t.m.current, undefined);
  assert.equal(await t.store.get("session"), undefined);
  const s = await t.m.loginWithCode("lc_x", "123456");
  assert.equal(s.accessToken, "at1");
  assert.deepEqual(t.calls[1]?.body, { challenge: "lc_x", code: "123456" });
  assert.ok(await t.store.get("session"));
});

test("login keeps the session and saves it in the store", async () => {
  const t = manager(() => ({ status: 200, body: session(1, 1_000_000) }));
  const s = await t.m.login("alice", "pw");
  assert.ok("accessToken" in s);
  assert.equal(s.accessToken, "at1");
  assert.deepEqual(t.calls[0], {
    method: "POST",
    path: "/api/login",
    auth: undefined,
    body: { username: "alice", password: "pw" },
  });
  assert.deepEqual(t.store.keys(), ["session"]);
  const again = new SessionManager({
    servers: new ServerList("https://parley.test"),
    fetch: async () => ({ status: 500, text: async () => "" }),
    store: t.store,
    now: () => 0,
  });
  assert.equal(await again.resume(), true);
  assert.equal(await again.accessToken(), "at1");
});

test("a refused login rejects with the server's code and status", async () => {
  const t = manager(() => ({
    status: 401,
    body: { code: "invalid_credentials", message: "Wrong username or password." },
  }));
  await assert.rejects(
    t.m.login("alice", "bad"),
    (e) => isParleyClientError(e, "invalid_credentials") && e.status === 401,
  );
});

test("the access token is refreshed shortly before it expires, once for concurrent callers", async () => {
  let n = 1;
  const t = manager((c) =>
    c.path === "/api/token/refresh"
      ? { status: 200, body: session(++n, 2_000_000) }
      : { status: 200, body: session(1, 1_000_000) },
  );
  await t.m.login("alice", "pw");
  assert.equal(await t.m.accessToken(), "at1");
  t.clock.now += 15 * 60_000 - 30_000; // 30 s before expiry: inside the 60 s margin
  const tokens = await Promise.all([t.m.accessToken(), t.m.accessToken(), t.m.accessToken()]);
  assert.deepEqual(tokens, ["at2", "at2", "at2"]);
  const refreshes = t.calls.filter((c) => c.path === "/api/token/refresh");
  assert.equal(refreshes.length, 1);
  assert.deepEqual(refreshes[0]?.body, { refreshToken: "prt_1" });
});

test("an API call that meets token_expired refreshes and retries once", async () => {
  let meCalls = 0;
  const t = manager((c) => {
    if (c.path === "/api/login") return { status: 200, body: session(1, 1_000_000) };
    if (c.path === "/api/token/refresh") return { status: 200, body: session(2, 1_000_000) };
    meCalls++;
    return meCalls === 1
      ? { status: 401, body: { code: "token_expired", message: "m" } }
      : { status: 200, body: { users: [] } };
  });
  await t.m.login("alice", "pw");
  assert.deepEqual(await t.m.api("GET", "/api/users"), { users: [] });
  assert.deepEqual(
    t.calls.map((c) => [c.path, c.auth]),
    [
      ["/api/login", undefined],
      ["/api/users", "Bearer at1"],
      ["/api/token/refresh", undefined],
      ["/api/users", "Bearer at2"],
    ],
  );
});

test("a refused refresh token signs out: the session is forgotten and reported", async () => {
  const t = manager((c) =>
    c.path === "/api/token/refresh"
      ? { status: 401, body: { code: "refresh_token_invalid", message: "m" } }
      : { status: 200, body: session(1, 1_000_000) },
  );
  await t.m.login("alice", "pw");
  await assert.rejects(t.m.accessToken(true), (e) => isParleyClientError(e, "signed_out"));
  assert.deepEqual(t.signedOut, ["refresh_token_invalid"]);
  assert.equal(t.m.current, undefined);
  assert.deepEqual(t.store.keys(), []);
  await assert.rejects(t.m.accessToken(), (e) => isParleyClientError(e, "not_signed_in"));
});

test("a refresh refused for good signs out, a passing failure does not", async () => {
  for (const [status, code, signsOut] of [
    [403, "account_disabled", true],
    [401, "session_revoked", true],
    [429, "rate_limited", false],
  ] as const) {
    const t = manager((c) =>
      c.path === "/api/token/refresh"
        ? { status, body: { code, message: "m" } }
        : { status: 200, body: session(1, 1_000_000) },
    );
    await t.m.login("alice", "pw");
    await assert.rejects(t.m.accessToken(true), (e) =>
      isParleyClientError(e, signsOut ? "signed_out" : code),
    );
    assert.deepEqual(t.signedOut, signsOut ? [code] : [], code);
    assert.equal(t.m.current === undefined, signsOut, code);
  }
});

test("logout ends the session on the server and here, even when the server refuses", async () => {
  const t = manager((c) =>
    c.path === "/api/logout"
      ? { status: 401, body: { code: "session_revoked", message: "m" } }
      : { status: 200, body: session(1, 1_000_000) },
  );
  await t.m.login("alice", "pw");
  await t.m.logout();
  assert.equal(t.calls.at(-1)?.auth, "Bearer at1");
  assert.equal(t.m.current, undefined);
  assert.deepEqual(t.store.keys(), []);
});

test("a network failure is http_failed; an answer that is not a session is unexpected_answer", async () => {
  const store = new MemoryStore();
  const failing = new SessionManager({
    servers: new ServerList("https://parley.test"),
    fetch: async () => {
      throw new Error("ECONNREFUSED");
    },
    store,
    now: () => 0,
  });
  await assert.rejects(failing.login("a", "b"), (e) => isParleyClientError(e, "http_failed"));
  const t = manager(() => ({ status: 200, body: { user: "nope" } }));
  await assert.rejects(t.m.login("a", "b"), (e) => isParleyClientError(e, "unexpected_answer"));
});

/** Two fake servers; `down` lists the hosts that do not answer, `status` overrides answers. */
function pair(answer: (host: string, c: Call) => { status: number; body?: unknown } | "down") {
  const calls: (Call & { host: string })[] = [];
  const servers = new ServerList(["https://a.test", "https://b.test"]);
  const fetch: FetchLike = async (url, init) => {
    const u = new URL(url);
    const call = {
      host: u.host,
      method: init.method,
      path: u.pathname,
      auth: init.headers.authorization,
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    await Promise.resolve();
    const a = answer(u.host, call);
    if (a === "down") throw new TypeError("fetch failed");
    return { status: a.status, text: async () => (a.body === undefined ? "" : JSON.stringify(a.body)) };
  };
  const store = new MemoryStore();
  const m = new SessionManager({ servers, fetch, store, now: () => 1_000_000 });
  const hosts = () => calls.map((c) => `${c.host} ${c.path}`);
  return { m, servers, calls, hosts };
}

test("a login the first server does not answer is sent to the next one, and later calls stay there", async () => {
  const t = pair((host, c) => {
    if (host === "a.test") return "down";
    return c.path === "/api/login" ? { status: 200, body: session(1, 1_000_000) } : { status: 200, body: [] };
  });
  const s = await t.m.login("alice", "pw");
  assert.ok("accessToken" in s);
  assert.equal(s.accessToken, "at1");
  await t.m.api("GET", "/api/users");
  assert.deepEqual(t.hosts(), ["a.test /api/login", "b.test /api/login", "b.test /api/users"]);
  assert.equal(t.servers.current, "https://b.test");
});

test("502, 503 and 504 answers fail over too; other refusals do not", async () => {
  for (const status of [502, 503, 504]) {
    const t = pair((host) =>
      host === "a.test"
        ? { status, body: { code: "service_unavailable", message: "m" } }
        : { status: 200, body: session(1, 1_000_000) },
    );
    await t.m.login("alice", "pw");
    assert.deepEqual(t.hosts(), ["a.test /api/login", "b.test /api/login"], `status ${status}`);
  }
  const t = pair(() => ({ status: 401, body: { code: "invalid_credentials", message: "m" } }));
  await assert.rejects(t.m.login("alice", "pw"), (e) => isParleyClientError(e, "invalid_credentials"));
  assert.deepEqual(t.hosts(), ["a.test /api/login"]);
  assert.equal(t.servers.current, "https://a.test");
});

test("register and refresh are not repeated on the next server, but the next call goes there", async () => {
  let aDown = false;
  const t = pair((host, c) => {
    if (host === "a.test" && aDown) return "down";
    if (c.path === "/api/token/refresh") return { status: 200, body: session(2, 1_000_000) };
    return { status: 201, body: session(1, 1_000_000) };
  });
  await t.m.register("alice", "pw");
  aDown = true;
  // A refresh that reached A may have been carried out: repeating it would present a spent token.
  await assert.rejects(t.m.accessToken(true), (e) => isParleyClientError(e, "http_failed"));
  assert.equal(await t.m.accessToken(true), "at2");
  assert.deepEqual(t.hosts(), [
    "a.test /api/register",
    "a.test /api/token/refresh",
    "b.test /api/token/refresh",
  ]);
  const r = pair(() => "down");
  await assert.rejects(r.m.register("bob", "pw"), (e) => isParleyClientError(e, "http_failed"));
  assert.deepEqual(r.hosts(), ["a.test /api/register"]);
  assert.equal(r.servers.current, "https://b.test");
});

test("when no server answers, a repeatable call tries each once and fails with http_failed", async () => {
  const t = pair(() => "down");
  await assert.rejects(t.m.login("alice", "pw"), (e) => isParleyClientError(e, "http_failed"));
  assert.deepEqual(t.hosts(), ["a.test /api/login", "b.test /api/login"]);
});
