import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { SessionResponse } from "@parley/protocol";
import { startChildServer } from "./support/child-server.js";
import { login, registerUser, request, STRONG_PASSWORD } from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

// Issue 15, faults: the server's wall clock jumps (an NTP step, a VM resumed, an operator's
// `date -s`). The server runs under Debian's libfaketime, whose offset the test changes while it
// runs; only the wall clock moves (DONT_FAKE_MONOTONIC), as in a real step.

const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const HOUR = 3600_000;

test("a wall clock that jumps forward and back costs a refresh at most: nobody is signed out, locked out or rate limited", {
  skip: existsSync(LIBFAKETIME)
    ? false
    : "needs Debian's libfaketime (scripts/ensure-services.sh installs it)",
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "parley-clock-"));
  const offsetFile = join(dir, "faketime");
  const jump = (offset: string) => writeFile(offsetFile, `${offset}\n`);
  await jump("+0");
  const server = await startChildServer(join(dir, "data"), {
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME_TIMESTAMP_FILE: offsetFile,
    FAKETIME_NO_CACHE: "1",
    DONT_FAKE_MONOTONIC: "1",
  });
  const { ts } = server;
  /** The server's own idea of now, from its Date header. */
  const serverNow = async () => Date.parse(String((await request(ts, "GET", "/healthz")).headers.date));
  /** Waits (bounded) until the server's clock is `offsetMs` from ours, give or take 5 s (Node refreshes its Date header once a second). */
  const clockAt = async (offsetMs: number) => {
    for (let i = 0; i < 50; i++) {
      if (Math.abs((await serverNow()) - Date.now() - offsetMs) < 5000) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  };
  const me = (token: string) => request<{ code?: string }>(ts, "GET", "/api/me", { token });
  const refresh = async (session: SessionResponse) => {
    const res = await request<SessionResponse>(ts, "POST", "/api/token/refresh", {
      body: { refreshToken: session.refreshToken },
    });
    assert.equal(res.status, 200, `refresh: ${res.text}`);
    return res.body;
  };
  try {
    const alice = await registerUser(ts);
    assert.equal((await me(alice.accessToken)).status, 200);

    // Two hours forward: the 15-minute access token has expired; the refresh token has not.
    await jump("+2h");
    assert.ok(await clockAt(2 * HOUR), "the server's clock moved forward");
    const expired = await me(alice.accessToken);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.code, "token_expired");
    const later = await refresh(alice);
    assert.equal((await me(later.accessToken)).status, 200);

    // Back to an hour before the real time: the token issued "in the future" is refused with a
    // code whose client action is a refresh, never a sign-in; the refresh works.
    await jump("-1h");
    assert.ok(await clockAt(-HOUR), "the server's clock moved back");
    const future = await me(later.accessToken);
    assert.equal(future.status, 401);
    assert.match(String(future.body.code), /^token_(invalid|expired)$/);
    const earlier = await refresh(later);
    assert.equal((await me(earlier.accessToken)).status, 200);
    // The password still signs in: no limiter window was stretched into a lock-out.
    for (let i = 0; i < 3; i++)
      assert.equal((await login(ts, alice.user.username, STRONG_PASSWORD)).status, 200);
    // Frame limits run on the monotonic clock: a burst within the limit is not refused.
    const socket = await TestSocket.authed(ts, earlier.accessToken);
    for (let i = 0; i < 10; i++) {
      const answer = await socket.call({ type: "room.list" });
      assert.notEqual(answer.type, "error", JSON.stringify(answer));
    }
    socket.close();

    // And forward to the real time again.
    await jump("+0");
    assert.ok(await clockAt(0), "the server's clock is right again");
    const back = await me(earlier.accessToken);
    assert.equal(back.status, 401, "an hour-old token is expired now");
    const now = await refresh(earlier);
    assert.equal((await me(now.accessToken)).status, 200);
    assert.equal((await login(ts, alice.user.username, STRONG_PASSWORD)).status, 200);
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    assert.ok(!server.events.some((e) => typeof e.level === "number" && e.level >= 50), "no error line");
  } finally {
    if (server.child.exitCode === null) server.child.kill("SIGKILL");
    await server.exited;
    await rm(dir, { recursive: true, force: true });
  }
});
