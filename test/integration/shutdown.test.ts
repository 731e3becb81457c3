import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startChildServer } from "./support/child-server.js";
import { login, registerUser, request, STRONG_PASSWORD, uniqueName } from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

test("SIGTERM stops accepting, closes sockets with 1001 and exits 0", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-shutdown-"));
  const server = await startChildServer(dataDir);
  const { child, exited, outputClosed, events, ts } = server;
  try {
    assert.match(ts.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const alice = await registerUser(ts);
    const socket = await TestSocket.authed(ts, alice.accessToken);
    child.kill("SIGTERM");
    const closed = await socket.closed;
    assert.equal(closed.code, 1001);
    assert.equal(await exited, 0);
    await assert.rejects(request(ts, "GET", "/healthz"), "no longer accepting connections");
    await outputClosed;
    assert.ok(
      events.some((e) => e.event === "stopped"),
      "the last log line was flushed before exit",
    );
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  }
});

test("SIGTERM during registrations leaves every account whole: created and usable, or not there at all", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-shutdown-"));
  // Checking a name that was never created is a failed login: keep the IP block out of the way.
  const env = { PARLEY_AUTH_RATE: "10000", PARLEY_BRUTE_FORCE_MAX_FAILURES: "1000" };
  let server = await startChildServer(dataDir, env);
  try {
    const names = Array.from({ length: 8 }, () => uniqueName("term"));
    const body = (username: string) => ({ body: { username, password: STRONG_PASSWORD } });
    // Eight registrations in flight (each waits for an argon2 hash), and SIGTERM among them.
    const pending = names.map((n) =>
      request(server.ts, "POST", "/api/register", body(n)).then(
        (r) => r.status,
        () => 0, // the connection closed before an answer
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.child.kill("SIGTERM");
    const answers = await Promise.all(pending);
    assert.equal(await server.exited, 0, "a clean exit");
    for (const a of answers) assert.ok([0, 201, 503].includes(a), `answer ${a}`);

    server = await startChildServer(dataDir, env);
    for (const [i, name] of names.entries()) {
      const signIn = await login(server.ts, name);
      if (answers[i] === 201) {
        assert.equal(signIn.status, 200, `${name} was told it exists, and signs in`);
        continue;
      }
      // No answer or 503: the account exists whole, or not at all and the name is free.
      if (signIn.status === 200) continue;
      assert.equal(signIn.status, 401, `${name}: ${signIn.text}`);
      const again = await request(server.ts, "POST", "/api/register", body(name));
      assert.equal(again.status, 201, `${name} can be registered again: ${again.text}`);
    }
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
  } finally {
    if (server.child.exitCode === null) server.child.kill("SIGKILL");
    await server.exited;
    await rm(dataDir, { recursive: true, force: true });
  }
});
