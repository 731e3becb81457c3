import assert from "node:assert/strict";
import { test } from "node:test";
import { base64ToBytes, bytesToBase64 } from "./base64.js";

test("encodes like RFC 4648 (compared with Buffer) and decodes back, for every length up to 64", () => {
  for (let n = 0; n <= 64; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    const text = bytesToBase64(bytes);
    assert.equal(text, Buffer.from(bytes).toString("base64"));
    assert.deepEqual(base64ToBytes(text), bytes);
  }
});

test("RFC 4648 §10 test vectors", () => {
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ];
  for (const [plain, encoded] of vectors) {
    assert.equal(bytesToBase64(new TextEncoder().encode(plain)), encoded);
    assert.equal(new TextDecoder().decode(base64ToBytes(encoded)), plain);
  }
});

test("decodes the URL-safe alphabet and unpadded text", () => {
  const bytes = Uint8Array.of(0xfb, 0xff, 0xbf, 0xfe);
  assert.deepEqual(base64ToBytes("-_-__g"), bytes);
  assert.deepEqual(base64ToBytes("+/+//g=="), bytes);
});

test("rejects what is not base64", () => {
  for (const bad of ["a", "ab$d", "Zg=a", "Zh==", "Zm9=", "é123", "Zg==="]) {
    assert.throws(() => base64ToBytes(bad), TypeError, bad);
  }
});
