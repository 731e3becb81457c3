import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeContent, encodeContent } from "./content.js";
import { isParleyClientError } from "./errors.js";

const enc = (s: string) => new TextEncoder().encode(s);

test("text and structured payloads round-trip", () => {
  assert.deepEqual(decodeContent(encodeContent("héllo 👋")), { text: "héllo 👋" });
  assert.deepEqual(decodeContent(encodeContent({ text: "x" })), { text: "x" });
  const data = { kind: "reaction", emoji: "👍", to: "m1", n: [1, 2, null] };
  assert.deepEqual(decodeContent(encodeContent({ data })), { data });
});

test("anything else is content_invalid", () => {
  for (const bad of [
    "",
    "not json",
    "null",
    "[]",
    '{"text":"x"}',
    '{"v":2,"text":"x"}',
    '{"v":1}',
    '{"v":1,"text":5}',
  ]) {
    assert.throws(
      () => decodeContent(enc(bad)),
      (e) => isParleyClientError(e, "content_invalid"),
      bad,
    );
  }
});

test("prototype keys inside structured data are dropped", () => {
  const c = decodeContent(enc('{"v":1,"data":{"__proto__":{"polluted":true},"ok":1}}'));
  assert.deepEqual(c, { data: { ok: 1 } });
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
});

test("misuse throws TypeError", () => {
  assert.throws(() => encodeContent({ data: undefined }), TypeError);
  assert.throws(() => encodeContent({ text: 5 as unknown as string }), TypeError);
});
