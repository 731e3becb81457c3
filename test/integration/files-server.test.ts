import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  bytesSource,
  type FetchLike,
  type FileSink,
  isParleyClientError,
  MemoryStore,
  ParleyClient,
} from "@parley/client";
import { FILE_SEALED_CHUNK_BYTES } from "@parley/crypto";
import { pinnedWebSocket } from "../../packages/cli/src/chat/websocket.js";
import { trustedFetch } from "../../packages/cli/src/https-fetch.js";
import { describePostgres, TestSchemas } from "../../packages/server/src/storage/test-databases.js";
import { request, STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { accessTokenOf, type SdkUser } from "./support/sdk.js";

// The blob store over HTTP (docs/PROTOCOL.md FILE-3..7) with a real server: every refusal's
// status and code, the headers that keep a served blob inert, resuming after a cut connection,
// chunks altered on the server's disk, and the canary that must appear nowhere but on the
// sending and receiving devices.

interface Member extends SdkUser {
  readonly store: MemoryStore;
}

/** An SDK user whose store the test can read: its access token signs raw requests. */
async function member(ts: TestServer, prefix: string, fetch?: FetchLike): Promise<Member> {
  const store = new MemoryStore();
  const client = new ParleyClient({
    baseUrl: ts.url,
    fetch: fetch ?? trustedFetch({ ca: ts.ca }),
    WebSocket: pinnedWebSocket(ts.ca),
    store,
    backoff: { baseMs: 100, maxMs: 1000 },
  });
  const username = uniqueName(prefix);
  const user = await client.register(username, STRONG_PASSWORD);
  await client.connect();
  return { client, id: user.id, username, store };
}

const tokenOf = (m: Member): Promise<string> => accessTokenOf(m.store);

async function sharedRoom(a: SdkUser, b: SdkUser): Promise<string> {
  const room = await a.client.createRoom(`r${randomBytes(3).toString("hex")}`, { isPublic: false });
  await a.client.invite(room.id, b.id);
  await b.client.join(room.id);
  return room.id;
}

function memorySink(): FileSink & { bytes(): Buffer } {
  const parts: Uint8Array[] = [];
  return { write: (b) => void parts.push(b.slice()), bytes: () => Buffer.concat(parts) };
}

/** PATCH with raw bytes, as the SDK sends them. */
function patch(
  ts: TestServer,
  token: string,
  id: string,
  offset: number | string,
  body: Buffer,
  type = "application/offset+octet-stream",
) {
  return request(ts, "PATCH", `/api/files/${id}`, {
    token,
    rawBody: body,
    headers: { "content-type": type, "upload-offset": String(offset) },
  });
}

describe("the blob store over HTTP", () => {
  let ts: TestServer;
  let alice: Member;
  let bob: Member;
  let carol: Member;
  let roomId: string;
  let token: string;

  before(async () => {
    ts = await startTestServer({ fileMaxBytes: 1_000_000, fileQuotaBytes: 2_500_000 });
    alice = await member(ts, "alice");
    bob = await member(ts, "bob");
    carol = await member(ts, "carol");
    roomId = await sharedRoom(alice, bob);
    token = await tokenOf(alice);
  });
  after(async () => {
    for (const u of [alice, bob, carol]) await u?.client.close();
    await ts?.stop();
  });

  test("says its file settings in /api/info", async () => {
    const info = await request<{
      files: { enabled: boolean; maxBytes: number; ttlSeconds: number; types: string[] };
    }>(ts, "GET", "/api/info");
    assert.equal(info.body.files.enabled, true);
    assert.equal(info.body.files.maxBytes, 1_000_000);
    assert.equal(info.body.files.ttlSeconds, 86_400);
    assert.ok(info.body.files.types.includes("application/pdf"));
  });

  test("refuses oversize (413), a refused type (415), a malformed body (400) and a room the uploader is not in (404)", async () => {
    const post = (body: unknown, t = token) =>
      request<{ code: string }>(ts, "POST", "/api/files", { token: t, body });
    let r = await post({ roomId, size: 1_000_001, type: "text/plain" });
    assert.deepEqual([r.status, r.body.code], [413, "file_too_large"]);
    r = await post({ roomId, size: 10, type: "text/html" });
    assert.deepEqual([r.status, r.body.code], [415, "file_type_refused"]);
    r = await post({ roomId, size: 10, type: "image/svg+xml" });
    assert.deepEqual([r.status, r.body.code], [415, "file_type_refused"]);
    r = await post({ roomId, size: -1, type: "text/plain" });
    assert.deepEqual([r.status, r.body.code], [400, "validation_failed"]);
    r = await post({ roomId, size: 10, type: "not a type" });
    assert.deepEqual([r.status, r.body.code], [400, "validation_failed"]);
    r = await post({ roomId, size: 10, type: "text/plain" }, await tokenOf(carol));
    assert.deepEqual([r.status, r.body.code], [404, "room_not_found"]);
    r = await request(ts, "POST", "/api/files", { body: { roomId, size: 10, type: "text/plain" } });
    assert.equal(r.status, 401);
    r = await request(ts, "POST", "/api/files", {
      token,
      rawBody: "{",
      headers: { "content-type": "application/json" },
    });
    assert.deepEqual([r.status, (r.body as { code: string }).code], [400, "malformed_json"]);
  });

  test("validates every upload header and byte count", async () => {
    const created = await request<{ id: string; length: number }>(ts, "POST", "/api/files", {
      token,
      body: { roomId, size: 100, type: "text/plain; charset=utf-8" },
    });
    assert.equal(created.status, 201);
    const { id, length } = created.body;
    assert.equal(length, 116);
    const code = (r: { status: number; body: unknown }) => [r.status, (r.body as { code: string }).code];
    assert.deepEqual(code(await patch(ts, token, id, 5, Buffer.alloc(10))), [409, "upload_offset_mismatch"]);
    assert.deepEqual(code(await patch(ts, token, id, "x", Buffer.alloc(10))), [400, "validation_failed"]);
    assert.deepEqual(code(await patch(ts, token, id, 0, Buffer.alloc(10), "text/plain")), [
      415,
      "unsupported_media_type",
    ]);
    assert.deepEqual(code(await patch(ts, await tokenOf(bob), id, 0, Buffer.alloc(10))), [404, "not_found"]);
    assert.deepEqual(code(await patch(ts, token, "0".repeat(32), 0, Buffer.alloc(10))), [404, "not_found"]);
    assert.deepEqual(code(await patch(ts, token, "../../etc", 0, Buffer.alloc(10))), [404, "not_found"]);
    // Too many bytes: what fits is kept, the rest refused.
    assert.deepEqual(code(await patch(ts, token, id, 0, Buffer.alloc(200))), [400, "upload_overrun"]);
    const state = await request<{ offset: number }>(ts, "GET", `/api/files/${id}/upload`, { token });
    assert.equal(state.body.offset, 116);
    // Bob may not download a file before it is complete; now it is, but the bytes are not a valid file.
    const bobToken = await tokenOf(bob);
    const got = await request(ts, "GET", `/api/files/${id}`, {
      token: bobToken,
      headers: { range: "bytes=500-" },
    });
    assert.deepEqual(code(got), [416, "range_not_satisfiable"]);
  });

  test("serves a blob inert: attachment, nosniff, no-store, no-referrer, a sandboxing CSP", async () => {
    const d = await alice.client.uploadFile(roomId, bytesSource(randomBytes(70_000)), {
      name: "p.png",
      type: "image/png",
    });
    const r = await request(ts, "GET", `/api/files/${d.id}`, { token: await tokenOf(bob) });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.match(String(r.headers["content-disposition"]), /^attachment/);
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.equal(r.headers["cache-control"], "no-store");
    assert.equal(r.headers["referrer-policy"], "no-referrer");
    assert.match(String(r.headers["content-security-policy"]), /default-src 'none'; sandbox/);
    assert.equal(Number(r.headers["content-length"]), 70_000 + 32);
    const part = await request(ts, "GET", `/api/files/${d.id}`, {
      token: await tokenOf(bob),
      headers: { range: "bytes=10-19" },
    });
    assert.equal(part.status, 206);
    assert.equal(part.headers["content-range"], `bytes 10-19/${70_000 + 32}`);
  });

  test("refuses uploads beyond the account's quota with file_quota_exceeded", async () => {
    const quota = await member(ts, "quota");
    const room = await sharedRoom(quota, bob);
    try {
      await quota.client.uploadFile(room, bytesSource(randomBytes(900_000)), {
        name: "a.zip",
        type: "application/zip",
      });
      await quota.client.uploadFile(room, bytesSource(randomBytes(900_000)), {
        name: "b.zip",
        type: "application/zip",
      });
      await assert.rejects(
        quota.client.uploadFile(room, bytesSource(randomBytes(900_000)), {
          name: "c.zip",
          type: "application/zip",
        }),
        (e) => isParleyClientError(e, "file_quota_exceeded") && e.status === 413,
      );
    } finally {
      await quota.client.close();
    }
  });

  test("a view-once file may be deleted by a member; any other only by its uploader", async () => {
    const once = await alice.client.uploadFile(roomId, bytesSource(randomBytes(100)), {
      name: "o.jpg",
      type: "image/jpeg",
      viewOnce: true,
    });
    const kept = await alice.client.uploadFile(roomId, bytesSource(randomBytes(100)), {
      name: "k.jpg",
      type: "image/jpeg",
    });
    await assert.rejects(carol.client.deleteFile(once.id), (e) => isParleyClientError(e, "not_found"));
    await assert.rejects(bob.client.deleteFile(kept.id), (e) => isParleyClientError(e, "not_found"));
    await bob.client.deleteFile(once.id);
    await assert.rejects(bob.client.downloadFile(once, memorySink()), (e) =>
      isParleyClientError(e, "file_expired"),
    );
    await alice.client.deleteFile(kept.id);
    await assert.rejects(bob.client.downloadFile(kept, memorySink()), (e) =>
      isParleyClientError(e, "file_expired"),
    );
  });

  test("refuses chunks altered, swapped or cut on the server's disk (file_corrupt)", async () => {
    const bytes = randomBytes(3 * 65_536 + 100);
    const blobOf = async (id: string) => join(ts.dataDir, "files", id.slice(0, 2), id);
    const cases: [string, (b: Buffer) => Buffer][] = [
      [
        "a flipped bit",
        (b) => {
          b[70_000]! ^= 1;
          return b;
        },
      ],
      [
        "two chunks swapped",
        (b) => {
          const c = FILE_SEALED_CHUNK_BYTES;
          return Buffer.concat([b.subarray(c, 2 * c), b.subarray(0, c), b.subarray(2 * c)]);
        },
      ],
      [
        "the last chunk replaced by a copy of the first",
        (b) => {
          const c = FILE_SEALED_CHUNK_BYTES;
          const head = b.subarray(0, 3 * c);
          return Buffer.concat([head, b.subarray(0, b.length - 3 * c)]);
        },
      ],
    ];
    for (const [what, change] of cases) {
      const d = await alice.client.uploadFile(roomId, bytesSource(bytes), {
        name: "x.txt",
        type: "text/plain",
      });
      const path = await blobOf(d.id);
      await writeFile(path, change(await readFile(path)));
      await assert.rejects(
        bob.client.downloadFile(d, memorySink()),
        (e) => isParleyClientError(e, "file_corrupt"),
        what,
      );
    }
  });

  test("a canary in a file and its name is in no blob, no log line and no database row", async () => {
    const canary = `CANARY-${randomBytes(8).toString("hex")}`;
    const content = Buffer.from(`${canary}\n`.repeat(2000));
    const d = await alice.client.uploadFile(roomId, bytesSource(content), {
      name: `${canary}.txt`,
      type: "text/plain",
    });
    await alice.client.send(roomId, { file: d });
    const sink = memorySink();
    await bob.client.downloadFile(d, sink);
    assert.ok(sink.bytes().equals(content));
    const needle = Buffer.from(canary);
    const dirs = [ts.dataDir];
    const seen: string[] = [];
    while (dirs.length > 0) {
      const dir = dirs.pop()!;
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) dirs.push(p);
        else {
          seen.push(p);
          assert.ok(!(await readFile(p)).includes(needle), `the canary is in ${p}`);
        }
      }
    }
    assert.ok(
      seen.some((p) => p.includes(join("files", d.id.slice(0, 2)))),
      "the blob itself was searched",
    );
    assert.ok(
      seen.some((p) => p.endsWith("parley.db")),
      "the database was searched",
    );
    assert.ok(!ts.logs.join("").includes(canary), "the canary is in a log line");
  });
});

describe("resuming an upload after a cut connection", () => {
  let ts: TestServer;
  after(() => ts?.stop());

  test("continues where the server's copy ends, and the file arrives whole", async () => {
    ts = await startTestServer({ fileMaxBytes: 8_000_000 });
    const base = trustedFetch({ ca: ts.ca });
    let cuts = 0;
    const offsets: number[] = [];
    // The second PATCH is cut off after half its bytes reached the server.
    const cutting: FetchLike = async (url, init) => {
      if (init.method === "PATCH") offsets.push(Number(init.headers["upload-offset"]));
      if (init.method !== "PATCH" || offsets.length !== 2 || !(init.body instanceof Uint8Array))
        return base(url, init);
      cuts++;
      const body = init.body;
      await new Promise<void>((resolve) => {
        const req = httpsRequest(url, {
          method: "PATCH",
          ca: ts.ca ?? undefined,
          agent: false,
          headers: { ...init.headers, "content-length": String(body.length) },
        });
        req.on("error", () => resolve());
        req.write(body.subarray(0, body.length / 2), () =>
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 300),
        );
      });
      throw new Error("connection cut");
    };
    const alice = await member(ts, "alice", cutting);
    const bob = await member(ts, "bob");
    try {
      const roomId = await sharedRoom(alice, bob);
      const bytes = randomBytes(5_000_000);
      const d = await alice.client.uploadFile(roomId, bytesSource(bytes), {
        name: "big.zip",
        type: "application/zip",
      });
      assert.equal(cuts, 1);
      // After the cut, the next PATCH starts past the previous part: what arrived was kept.
      assert.ok(offsets[2]! > offsets[1]!, `offsets ${offsets.join(", ")}`);
      assert.ok(offsets[2]! < offsets[1]! + 16 * FILE_SEALED_CHUNK_BYTES);
      const sink = memorySink();
      await bob.client.downloadFile(d, sink);
      assert.ok(sink.bytes().equals(bytes));
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });
});

describe("with PARLEY_FILES=off", () => {
  let ts: TestServer;
  after(() => ts?.stop());

  test("says so in /api/info, refuses uploads before they start, and answers files_disabled", async () => {
    ts = await startTestServer({ files: "off" });
    const alice = await member(ts, "alice");
    try {
      assert.equal((await alice.client.fileLimits()).enabled, false);
      await assert.rejects(
        alice.client.uploadFile("ABCDEF", bytesSource(Buffer.from("x")), {
          name: "a.txt",
          type: "text/plain",
        }),
        (e) => isParleyClientError(e, "files_disabled"),
      );
      const r = await request<{ code: string }>(ts, "POST", "/api/files", {
        token: await tokenOf(alice),
        body: { roomId: "ABCDEF", size: 1, type: "text/plain" },
      });
      assert.deepEqual([r.status, r.body.code], [404, "files_disabled"]);
    } finally {
      await alice.client.close();
    }
  });
});

describePostgres("the blob store on PostgreSQL (PARLEY_FILE_STORE=auto)", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  let ts: TestServer;
  let now = Date.now();
  after(async () => {
    await ts?.stop();
    await schemas.dropAll();
  });

  test("keeps ciphertext in file_chunks, round-trips, resumes, expires and sweeps", async () => {
    ts = await startTestServer(
      { databaseUrl: await schemas.create(), fileMaxBytes: 4_000_000 },
      { filesClock: () => now },
    );
    const alice = await member(ts, "alice");
    const bob = await member(ts, "bob");
    const carol = await member(ts, "carol");
    try {
      const roomId = await sharedRoom(alice, bob);
      const bytes = randomBytes(3_300_000);
      const d = await alice.client.uploadFile(roomId, bytesSource(bytes), {
        name: "db.bin.zip",
        type: "application/zip",
      });
      assert.deepEqual(await readdir(ts.dataDir).then((n) => n.includes("files")), false, "nothing on disk");
      const sink = memorySink();
      await bob.client.downloadFile(d, sink);
      assert.ok(sink.bytes().equals(bytes));
      await assert.rejects(carol.client.downloadFile(d, memorySink()), (e) =>
        isParleyClientError(e, "not_found"),
      );
      // A PATCH that repeats the offset the server already has is refused, the file stays whole.
      const r = await patch(ts, await tokenOf(alice), d.id, 0, Buffer.alloc(10));
      assert.equal(r.status, 409);
      now += 86_400_000 + 1;
      assert.equal(await ts.server.files.sweep(), 1);
      await assert.rejects(bob.client.downloadFile(d, memorySink()), (e) =>
        isParleyClientError(e, "file_expired"),
      );
    } finally {
      for (const u of [alice, bob, carol]) await u.client.close();
    }
  });
});
