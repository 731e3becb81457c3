import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  login,
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

// Issue 15, faults: the data dir's disk fills up. A real tmpfs of a few MiB holds the data dir
// (SQLite, TLS material, the JWT secret); a filler file takes the rest of it.

type Err = { code: string; message: string };

/** Mounts a tmpfs of `mib` MiB on a fresh directory; undefined where this process may not mount. */
function mountTmpfs(dir: string, mib: number): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync("mount", ["-t", "tmpfs", "-o", `size=${mib}m`, "tmpfs", dir]).status === 0;
}

/** Writes into `path` until the file system is full; returns the bytes written. */
async function fill(path: string): Promise<number> {
  const file = await open(path, "w");
  const chunk = randomBytes(64 * 1024);
  let written = 0;
  try {
    for (let i = 0; i < 100_000; i++) {
      try {
        written += (await file.write(chunk)).bytesWritten;
      } catch (e) {
        if ((e as { code?: string }).code === "ENOSPC") break;
        throw e;
      }
    }
    // The last partial chunk: byte by byte would be slow, so halve until nothing fits.
    for (let size = 32 * 1024; size >= 1; size = Math.floor(size / 2)) {
      try {
        written += (await file.write(chunk.subarray(0, size))).bytesWritten;
      } catch {
        // does not fit: try a smaller piece
      }
    }
  } finally {
    await file.close().catch(() => undefined);
  }
  return written;
}

const mountDir = await mkdtemp(join(tmpdir(), "parley-diskfull-"));
const mounted = mountTmpfs(mountDir, 8);

describe("the data dir's disk fills up", { skip: mounted ? false : "needs root to mount a tmpfs" }, () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ authRatePerMin: 10_000 }, { dataDir: join(mountDir, "data") });
  });
  after(async () => {
    await ts?.stop();
    spawnSync("umount", [mountDir]);
    await rm(mountDir, { recursive: true, force: true });
  });

  it("refuses writes with storage_full, keeps relaying, and recovers with no account lost", async () => {
    const alice = await registerUser(ts);
    const bob = await registerUser(ts);
    const a = await TestSocket.authed(ts, alice.accessToken);
    const b = await TestSocket.authed(ts, bob.accessToken);

    const filler = join(mountDir, "filler");
    assert.ok((await fill(filler)) > 0);

    // Registrations write: one of the next few fails (SQLite may still reuse free pages of its
    // own files for a first write or two), and it fails as storage_full, never internal_error.
    let refused: { status: number; body: Err } | undefined;
    const names: string[] = [];
    for (let i = 0; i < 50 && refused === undefined; i++) {
      const name = uniqueName("full");
      const res = await request<Err>(ts, "POST", "/api/register", {
        body: { username: name, password: STRONG_PASSWORD },
      });
      if (res.status === 201) names.push(name);
      else refused = { status: res.status, body: res.body };
    }
    assert.ok(refused, "a registration is refused once the disk is full");
    assert.equal(refused.status, 507);
    assert.equal(refused.body.code, "storage_full");

    // A frame that writes gets the same code, and the socket stays open.
    const answer = await a.call({ type: "room.create", name: "while full" });
    assert.equal(answer.type, "error");
    assert.equal((answer as { code?: string }).code, "storage_full");

    // The relay writes nothing: people already connected go on talking.
    const ack = await a.call({
      type: "message.send",
      to: { user: bob.user.id },
      payload: Buffer.from("still here").toString("base64"),
    });
    assert.equal(ack.type, "ack");
    const got = await b.next("message");
    assert.equal(Buffer.from(got.payload, "base64").toString(), "still here");

    // Space comes back: writes succeed again and nobody's account was lost.
    await rm(filler);
    const carol = await registerUser(ts);
    assert.ok(carol.user.id);
    for (const name of [alice.user.username, bob.user.username, ...names]) {
      const res = await login(ts, name, STRONG_PASSWORD);
      assert.equal(res.status, 200, `${name} can sign in: ${res.text}`);
    }
    const created = await a.call({ type: "room.create", name: "after" });
    assert.equal(created.type, "room");

    // One error line for the operator per minute, and never an internal_error.
    const full = ts.logs.filter((l) => l.includes('"storage_full"'));
    assert.ok(full.length >= 1 && full.length <= 2, `${full.length} storage_full lines`);
    assert.ok(!ts.logs.some((l) => l.includes("internal_error")));
    a.close();
    b.close();
  });
});
