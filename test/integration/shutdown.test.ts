import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  login,
  registerUser,
  request,
  STRONG_PASSWORD,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

const MAIN = fileURLToPath(new URL("../../packages/server/src/main.ts", import.meta.url));

/** The server as its own process on `dataDir`, once it logs that it listens. */
async function startProcess(dataDir: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--conditions=parley-source", "--import", "tsx", MAIN], {
    env: {
      ...process.env,
      PARLEY_HOST: "127.0.0.1",
      PARLEY_PORT: "0",
      PARLEY_DATA_DIR: dataDir,
      PARLEY_MDNS: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });
  const linesClosed = new Promise((resolve) => lines.once("close", resolve));
  const events: Record<string, unknown>[] = [];
  try {
    const listening = await new Promise<{ urls: string[] }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("server did not start within 30 s")), 30_000);
      lines.on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        events.push(entry);
        if (entry.event === "listening") {
          clearTimeout(timer);
          resolve(entry as unknown as { urls: string[] });
        }
      });
      child.once("exit", () => reject(new Error("server exited before listening")));
    });
    const url = listening.urls[0] ?? "";
    const ca = await readFile(join(dataDir, "tls", "ca.crt"), "utf8");
    const ts = { url, ca, wsUrl: `${url.replace(/^https/, "wss")}/ws` } as unknown as TestServer;
    return { child, exited, linesClosed, events, url, ts };
  } catch (e) {
    child.kill("SIGKILL");
    await exited;
    throw e;
  }
}

test("SIGTERM stops accepting, closes sockets with 1001 and exits 0", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-shutdown-"));
  const server = await startProcess(dataDir);
  const { child, exited, linesClosed, events, url, ts } = server;
  try {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const alice = await registerUser(ts);
    const socket = await TestSocket.authed(ts, alice.accessToken);
    child.kill("SIGTERM");
    const closed = await socket.closed;
    assert.equal(closed.code, 1001);
    assert.equal(await exited, 0);
    await assert.rejects(request(ts, "GET", "/healthz"), "no longer accepting connections");
    await linesClosed;
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
  const env = { PARLEY_AUTH_RATE: "10000" };
  let server = await startProcess(dataDir, env);
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

    server = await startProcess(dataDir, env);
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
