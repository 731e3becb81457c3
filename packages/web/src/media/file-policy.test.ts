import assert from "node:assert/strict";
import { test } from "node:test";
import { checkFile, type FilePolicy, formatBytes, formatKeep, mimeOf } from "./file-policy.js";

const POLICY: FilePolicy = {
  maxBytes: 8 * 1024 * 1024,
  types: ["text/plain", "application/pdf", "image/png", "image/jpeg", "audio/*", "application/zip"],
};

test("a file within the limit and of an allowed type passes with its type", () => {
  assert.deepEqual(checkFile({ name: "report.pdf", type: "application/pdf", size: 1000 }, POLICY), {
    ok: true,
    mime: "application/pdf",
  });
});

test("a file one byte over the limit is refused as too large, naming both sizes", () => {
  const r = checkFile({ name: "big.zip", type: "application/zip", size: 8 * 1024 * 1024 + 1 }, POLICY);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.reason, "too_large");
  assert.match(!r.ok ? r.message : "", /up to 8 MB/);
  assert.equal(
    checkFile({ name: "ok.zip", type: "application/zip", size: 8 * 1024 * 1024 }, POLICY).ok,
    true,
  );
});

test("a type not on the list is refused, and an empty list refuses everything", () => {
  const exe = checkFile({ name: "setup.exe", type: "application/x-msdownload", size: 10 }, POLICY);
  assert.equal(!exe.ok && exe.reason, "refused_type");
  const none = checkFile({ name: "a.txt", type: "text/plain", size: 10 }, { ...POLICY, types: [] });
  assert.equal(!none.ok && none.reason, "refused_type");
});

test("a family entry allows every type of the family and no other", () => {
  const check = (type: string) => checkFile({ name: "f", type, size: 1 }, POLICY).ok;
  assert.equal(check("audio/webm;codecs=opus"), true);
  assert.equal(check("video/webm"), false);
  assert.equal(check("image/gif"), false);
});

test("an empty file is refused before anything else", () => {
  const r = checkFile({ name: "x.exe", type: "", size: 0 }, POLICY);
  assert.equal(!r.ok && r.reason, "empty");
});

test("a file the browser gives no type takes one from its extension, else octet-stream", () => {
  assert.equal(mimeOf({ name: "server.LOG", type: "" }), "text/plain");
  assert.equal(mimeOf({ name: "notes", type: "" }), "application/octet-stream");
  assert.equal(mimeOf({ name: "voice.webm", type: "audio/webm;codecs=opus" }), "audio/webm");
  const unknown = checkFile({ name: "blob.bin", type: "", size: 5 }, POLICY);
  assert.match(!unknown.ok ? unknown.message : "", /unknown type/);
});

test("sizes read as people say them", () => {
  assert.equal(formatBytes(1), "1 byte");
  assert.equal(formatBytes(532), "532 bytes");
  assert.equal(formatBytes(12_700), "12.4 KB");
  assert.equal(formatBytes(8 * 1024 * 1024), "8 MB");
  assert.equal(formatBytes(1536 * 1024 * 1024), "1.5 GB");
});

test("how long the server keeps files reads in the largest whole unit", () => {
  assert.equal(formatKeep(86_400), "24 hours");
  assert.equal(formatKeep(7 * 86_400), "7 days");
  assert.equal(formatKeep(3_600), "1 hour");
  assert.equal(formatKeep(90), "1 minute");
  assert.equal(formatKeep(1), "1 second");
});
