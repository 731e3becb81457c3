import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeContent,
  decodeEnvelope,
  encodeBatch,
  encodeContent,
  encodeSync,
  newMessageId,
} from "./content.js";
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

test("a stamped message keeps its id and compose time; content without a stamp still reads (RCPT-3)", () => {
  const stamp = { id: newMessageId(), sent: 1_765_000_000_000 };
  assert.match(stamp.id, /^[0-9a-f]{32}$/);
  assert.deepEqual(decodeEnvelope(encodeContent("hi", stamp)), {
    kind: "content",
    content: { text: "hi" },
    stamp,
  });
  assert.deepEqual(decodeEnvelope(enc('{"v":1,"text":"old"}')), {
    kind: "content",
    content: { text: "old" },
    stamp: undefined,
  });
  for (const bad of [
    '{"v":1,"text":"x","id":"XYZ","sent":1}',
    `{"v":1,"text":"x","id":"${"a".repeat(32)}"}`,
  ]) {
    assert.throws(
      () => decodeEnvelope(enc(bad)),
      (e) => isParleyClientError(e, "content_invalid"),
      bad,
    );
  }
});

test("sync notices and redelivery batches round-trip and are bounded (RCPT-4, RCPT-5)", () => {
  const id = newMessageId();
  assert.deepEqual(decodeEnvelope(encodeSync({ have: [id], pending: [] })), {
    kind: "sync",
    sync: { have: [id], pending: [] },
  });
  const items = [{ content: { text: "again" }, stamp: { id, sent: 5 } }];
  assert.deepEqual(decodeEnvelope(encodeBatch(items)), { kind: "batch", items });
  const tooMany = Array.from({ length: 257 }, () => newMessageId());
  assert.throws(
    () => decodeEnvelope(enc(JSON.stringify({ v: 1, sync: { have: tooMany, pending: [] } }))),
    (e) => isParleyClientError(e, "content_invalid"),
  );
  assert.throws(
    () => decodeContent(encodeSync({ have: [], pending: [] })),
    (e) => isParleyClientError(e, "content_invalid"),
  );
});

test("replies, mentions, reactions, edits and deletes round-trip (CHAT-1..5)", () => {
  const to = { id: newMessageId(), from: "u-alice" };
  const stamp = { id: newMessageId(), sent: 1_765_000_000_000 };
  for (const content of [
    { text: "yes", reply: to },
    { text: "@bob look", mentions: ["u-bob"] },
    { text: "both", reply: to, mentions: ["u-bob", "u-carol"] },
    { reaction: { to, emoji: "👍🏽", on: true } },
    { reaction: { to, emoji: "🏳️‍🌈", on: false } },
    { edit: { to, text: "fixed" } },
    { edit: { to, text: "fixed @bob", mentions: ["u-bob"] } },
    { delete: { to } },
  ]) {
    assert.deepEqual(decodeEnvelope(encodeContent(content, stamp)), { kind: "content", content, stamp });
    assert.deepEqual(decodeEnvelope(encodeBatch([{ content, stamp }])), {
      kind: "batch",
      items: [{ content, stamp }],
    });
  }
});

test("a malformed reply, mention, reaction, edit or delete is content_invalid", () => {
  const to = `{"id":"${"a".repeat(32)}","from":"u-alice"}`;
  for (const bad of [
    `{"v":1,"text":"x","reply":{"id":"short","from":"u-alice"}}`,
    `{"v":1,"text":"x","reply":{"id":"${"a".repeat(32)}"}}`,
    `{"v":1,"text":"x","mentions":"u-bob"}`,
    `{"v":1,"text":"x","mentions":[5]}`,
    `{"v":1,"text":"x","mentions":${JSON.stringify(Array.from({ length: 65 }, (_, i) => `u${i}`))}}`,
    `{"v":1,"reaction":{"to":${to},"emoji":"","on":true}}`,
    `{"v":1,"reaction":{"to":${to},"emoji":"   ","on":true}}`,
    `{"v":1,"reaction":{"to":${to},"emoji":"${"x".repeat(33)}","on":true}}`,
    `{"v":1,"reaction":{"to":${to},"emoji":"👍"}}`,
    `{"v":1,"reaction":null}`,
    `{"v":1,"edit":{"to":${to}}}`,
    `{"v":1,"edit":{"text":"x"}}`,
    `{"v":1,"delete":{}}`,
    `{"v":1,"delete":"x"}`,
  ]) {
    assert.throws(
      () => decodeEnvelope(enc(bad)),
      (e) => isParleyClientError(e, "content_invalid"),
      bad,
    );
  }
  assert.throws(
    () => encodeContent({ reaction: { to: { id: "x", from: "u" }, emoji: "👍", on: true } }),
    TypeError,
  );
  assert.throws(
    () => encodeContent({ reaction: { to: { id: newMessageId(), from: "u" }, emoji: "", on: true } }),
    TypeError,
  );
});
