import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  bytesSource,
  type FileDescriptor,
  type FileSink,
  isParleyClientError,
  type MessageEvent,
  type ParleyClient,
} from "@parley/client";
import { DEFAULT_FILE_TYPES } from "@parley/protocol";
import { startTestServer, type TestServer } from "./support/harness.js";
import { nextEvent, type SdkUser, sdkSignUp } from "./support/sdk.js";

/** A sink that keeps what it got, for files small enough to compare. */
function memorySink(): FileSink & { bytes(): Buffer } {
  const parts: Uint8Array[] = [];
  return { write: (b) => void parts.push(b.slice()), bytes: () => Buffer.concat(parts) };
}

function extensionOf(type: string): string {
  return type.split("/")[1]!.replace(/[^a-z0-9]/g, "");
}

async function roomOf(alice: SdkUser, bob: SdkUser): Promise<string> {
  const room = await alice.client.createRoom(`files-${randomBytes(3).toString("hex")}`, { isPublic: false });
  await alice.client.invite(room.id, bob.id);
  await bob.client.join(room.id);
  return room.id;
}

function fileEvent(client: ParleyClient, roomId: string): Promise<MessageEvent> {
  return nextEvent(client, "message", (m) => m.roomId === roomId && "file" in m.content);
}

describe("encrypted files through the SDK", () => {
  let ts: TestServer;
  let alice: SdkUser;
  let bob: SdkUser;
  let carol: SdkUser;
  let roomId: string;
  let now = Date.now();

  before(async () => {
    ts = await startTestServer({ fileMaxBytes: 2 * 1024 * 1024 }, { filesClock: () => now });
    alice = await sdkSignUp(ts, "alice");
    bob = await sdkSignUp(ts, "bob");
    carol = await sdkSignUp(ts, "carol");
    roomId = await roomOf(alice, bob);
  });
  after(async () => {
    for (const u of [alice, bob, carol]) await u?.client.close();
    await ts?.stop();
  });

  test("a file sent by one member arrives as a descriptor and downloads intact for another", async () => {
    const bytes = randomBytes(300_000);
    const arriving = fileEvent(bob.client, roomId);
    const progress: number[] = [];
    const sent = await alice.client.sendFile(
      roomId,
      bytesSource(bytes),
      { name: "report.pdf", type: "application/pdf" },
      { onProgress: (p) => progress.push(p.done) },
    );
    assert.equal(progress.at(-1), bytes.length);
    const event = await arriving;
    assert.ok("file" in event.content);
    const file = event.content.file;
    assert.deepEqual(
      { name: file.name, type: file.type, size: file.size, id: file.id },
      { name: "report.pdf", type: "application/pdf", size: bytes.length, id: sent.file.id },
    );
    const sink = memorySink();
    const seen: number[] = [];
    await bob.client.downloadFile(file, sink, { onProgress: (p) => seen.push(p.done) });
    assert.ok(sink.bytes().equals(bytes));
    assert.equal(seen.at(-1), bytes.length);
  });

  test("every allowed type makes the round trip", async () => {
    for (const type of DEFAULT_FILE_TYPES) {
      const bytes = randomBytes(1 + ((type.length * 4099) % 70_000));
      const arriving = fileEvent(bob.client, roomId);
      await alice.client.sendFile(roomId, bytesSource(bytes), { name: `f.${extensionOf(type)}`, type });
      const { content } = await arriving;
      assert.ok("file" in content);
      assert.equal(content.file.type, type);
      const sink = memorySink();
      await bob.client.downloadFile(content.file, sink);
      assert.ok(sink.bytes().equals(bytes), type);
    }
  });

  test("an empty file and one of exactly one chunk round-trip", async () => {
    for (const size of [0, 65_536, 65_537]) {
      const bytes = randomBytes(size);
      const d = await alice.client.uploadFile(roomId, bytesSource(bytes), {
        name: "e.txt",
        type: "text/plain",
      });
      const sink = memorySink();
      await bob.client.downloadFile(d, sink);
      assert.ok(sink.bytes().equals(bytes), String(size));
    }
  });

  test("a member who is not in the room gets not_found, as for a file that never existed", async () => {
    const d = await alice.client.uploadFile(roomId, bytesSource(randomBytes(1000)), {
      name: "s.txt",
      type: "text/plain",
    });
    const refused = (e: unknown) => isParleyClientError(e, "not_found") && e.status === 404;
    await assert.rejects(carol.client.downloadFile(d, memorySink()), refused);
    await assert.rejects(
      carol.client.downloadFile({ ...d, id: randomBytes(16).toString("hex") }, memorySink()),
      refused,
    );
  });

  test("a file too large or of a refused type is refused before any upload", async () => {
    const limits = await alice.client.fileLimits();
    assert.equal(limits.enabled, true);
    assert.equal(limits.maxBytes, 2 * 1024 * 1024);
    await assert.rejects(alice.client.checkFile({ size: limits.maxBytes + 1, type: "text/plain" }), (e) =>
      isParleyClientError(e, "file_too_large"),
    );
    await assert.rejects(
      alice.client.uploadFile(roomId, bytesSource(new Uint8Array(10)), { name: "x.html", type: "text/html" }),
      (e) => isParleyClientError(e, "file_type_refused"),
    );
  });

  test("a tampered key or hash makes the download fail with file_corrupt", async () => {
    const bytes = randomBytes(200_000);
    const d = await alice.client.uploadFile(roomId, bytesSource(bytes), {
      name: "t.zip",
      type: "application/zip",
    });
    const otherKey: FileDescriptor = { ...d, key: Buffer.from(randomBytes(32)).toString("base64") };
    await assert.rejects(bob.client.downloadFile(otherKey, memorySink()), (e) =>
      isParleyClientError(e, "file_corrupt"),
    );
    const otherHash: FileDescriptor = { ...d, sha256: "0".repeat(64) };
    await assert.rejects(bob.client.downloadFile(otherHash, memorySink()), (e) =>
      isParleyClientError(e, "file_corrupt"),
    );
    const shorter: FileDescriptor = { ...d, size: d.size - 70_000 };
    await assert.rejects(bob.client.downloadFile(shorter, memorySink()), (e) =>
      isParleyClientError(e, "file_corrupt"),
    );
  });

  test("an expired file answers file_expired (410), and the sweeper deletes it", async () => {
    const d = await alice.client.uploadFile(roomId, bytesSource(randomBytes(5000)), {
      name: "old.txt",
      type: "text/plain",
    });
    now += 86_400_000 + 1;
    try {
      await assert.rejects(
        bob.client.downloadFile(d, memorySink()),
        (e) => isParleyClientError(e, "file_expired") && e.status === 410,
      );
      assert.ok((await ts.server.files.sweep()) >= 1);
      await assert.rejects(bob.client.downloadFile(d, memorySink()), (e) =>
        isParleyClientError(e, "file_expired"),
      );
    } finally {
      now = Date.now() + 86_400_000 + 1;
    }
  });
});
