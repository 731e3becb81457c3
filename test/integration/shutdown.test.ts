import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { registerUser, request, type TestServer } from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

const MAIN = fileURLToPath(new URL("../../packages/server/src/main.ts", import.meta.url));

test("SIGTERM stops accepting, closes sockets with 1001 and exits 0", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-shutdown-"));
  const child = spawn(process.execPath, ["--conditions=parley-source", "--import", "tsx", MAIN], {
    env: {
      ...process.env,
      PARLEY_HOST: "127.0.0.1",
      PARLEY_PORT: "0",
      PARLEY_DATA_DIR: dataDir,
      PARLEY_MDNS: "off",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const lines = createInterface({ input: child.stdout });
    const linesClosed = new Promise((resolve) => lines.once("close", resolve));
    const events: Record<string, unknown>[] = [];
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
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(join(dataDir, "tls", "ca.crt"), "utf8");
    const ts = { url, ca, wsUrl: `${url.replace(/^https/, "wss")}/ws` } as unknown as TestServer;

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
