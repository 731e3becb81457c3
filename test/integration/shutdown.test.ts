import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MemoryStore } from "@parley/client";
import { PIECE_BYTES } from "../../packages/server/src/domain/files.js";
import { until } from "../e2e/support/wait.js";
import { startChildServer } from "./support/child-server.js";
import {
  login,
  registerUser,
  request,
  STRONG_PASSWORD,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { accessTokenOf, sdkClient } from "./support/sdk.js";
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

test("SIGTERM during a file upload: the upload stops at once, what arrived is kept, and it resumes after the restart", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-shutdown-"));
  let server = await startChildServer(dataDir);
  const store = new MemoryStore();
  let client = sdkClient(server.ts, store);
  try {
    await client.register(uniqueName("upl"), STRONG_PASSWORD);
    await client.connect();
    const room = await client.createRoom(uniqueName("files"), { isPublic: false });
    const token = await accessTokenOf(store);
    // Two and a half pieces of ciphertext: the server keeps whole pieces as they arrive.
    const size = 2 * PIECE_BYTES + PIECE_BYTES / 2;
    const created = await request<{ id: string; length: number }>(server.ts, "POST", "/api/files", {
      token,
      body: { roomId: room.id, size, type: "application/pdf" },
    });
    assert.equal(created.status, 201, created.text);
    const { id, length } = created.body;
    const bytes = randomBytes(length);

    // The first piece and a half are sent, and the request is held open, as on a slow link.
    const upload = openUpload(server.ts, token, id, 0, length);
    upload.req.write(bytes.subarray(0, PIECE_BYTES + PIECE_BYTES / 2));
    await until(
      async () => (await uploadOffset(server.ts, token, id)) >= PIECE_BYTES,
      "the first piece kept",
    );
    server.child.kill("SIGTERM");
    assert.deepEqual(
      await upload.answer,
      { status: 503, code: "server_shutting_down" },
      "the upload in progress is answered at once, not left to the forced exit",
    );
    assert.equal(await server.exited, 0, "a clean exit, not the forced one");

    // After the restart the upload goes on from what the server kept, and the file is whole.
    await client.close();
    server = await startChildServer(dataDir);
    client = sdkClient(server.ts, store);
    assert.equal(await client.resume(), true);
    const kept = await uploadOffset(server.ts, token, id);
    assert.ok(kept >= PIECE_BYTES && kept <= PIECE_BYTES + PIECE_BYTES / 2, `kept ${kept}`);
    const rest = await request(server.ts, "PATCH", `/api/files/${id}`, {
      token,
      rawBody: bytes.subarray(kept),
      headers: { "content-type": "application/offset+octet-stream", "upload-offset": String(kept) },
    });
    assert.equal(rest.status, 200, rest.text);
    const back = await request(server.ts, "GET", `/api/files/${id}`, { token });
    assert.equal(back.status, 200);
    assert.ok(Buffer.from(back.raw).equals(bytes), "the stored file is the bytes sent");
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
  } finally {
    await client.close();
    if (server.child.exitCode === null) server.child.kill("SIGKILL");
    await server.exited;
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** A PATCH whose body the test writes as it likes; `answer` is its status and code, 0 if cut. */
function openUpload(ts: TestServer, token: string, id: string, offset: number, length: number) {
  const req = httpsRequest(new URL(`/api/files/${id}`, ts.url), {
    method: "PATCH",
    ca: ts.ca ?? undefined,
    agent: false,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/offset+octet-stream",
      "upload-offset": String(offset),
      "content-length": String(length - offset),
    },
  });
  const answer = new Promise<{ status: number; code?: string }>((resolve) => {
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { code?: string }).code;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, ...(code !== undefined ? { code } : {}) });
      });
      res.on("error", () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on("error", () => resolve({ status: 0 }));
  });
  return { req, answer };
}

async function uploadOffset(ts: TestServer, token: string, id: string): Promise<number> {
  const r = await request<{ offset: number }>(ts, "GET", `/api/files/${id}/upload`, { token });
  assert.equal(r.status, 200, r.text);
  return r.body.offset;
}

test("SIGTERM stops the server even when whatever read its log output has gone away", async () => {
  // A log collector that died (or `npm start` killed above it) leaves the server's standard
  // output a broken pipe. The logger's last flush at exit used to retry EPIPE every 100 ms,
  // forever, on the main thread: the server neither exited nor answered.
  const dataDir = await mkdtemp(join(tmpdir(), "parley-shutdown-epipe-"));
  const server = await startChildServer(dataDir);
  const { child, exited } = server;
  try {
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.kill("SIGTERM");
    // The server's own force-exit comes after 10 s; wait well past it for either outcome.
    const outcome = await Promise.race([
      exited.then((code) => ({ code })),
      new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 30_000)),
    ]);
    assert.notEqual(outcome, "still running", "the server is still running 30 s after SIGTERM");
    assert.equal((outcome as { code: number | null }).code, 0, "a graceful stop exits 0");
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
});
