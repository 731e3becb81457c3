import assert from "node:assert/strict";
import { test } from "node:test";
import { HEADER_CHARS, headerInFrame, PayloadFactory, readHeader } from "./payload.js";

test("a payload is valid base64 of the requested size whose header reads back", () => {
  const f = new PayloadFactory(256);
  const p = f.make({ sentAtMs: 1_700_000_000_123.25, room: 7, seq: 4242 });
  assert.match(p, /^[A-Za-z0-9+/]+={0,2}$/);
  assert.equal(Buffer.from(p, "base64").length, 256);
  assert.deepEqual(readHeader(p.slice(0, HEADER_CHARS)), {
    sentAtMs: 1_700_000_000_123.25,
    room: 7,
    seq: 4242,
  });
});

test("the header is found in each server's frame without parsing it", () => {
  const p = new PayloadFactory(64).make({ sentAtMs: 1, room: 2, seq: 3 });
  const frames = [
    `{"type":"message","id":"x1","ts":1,"from":{"id":"u","username":"a"},"room":"ABCDEF","payload":"${p}"}`,
    `{"type":"send","room":"r1","payload":"${p}"}`,
    `42["message",{"room":"r1","payload":"${p}"}]`,
  ];
  for (const frame of frames) assert.equal(headerInFrame(Buffer.from(frame)), p.slice(0, HEADER_CHARS));
  assert.equal(headerInFrame(Buffer.from('{"type":"ack"}')), null);
});

test("refuses a payload too small to hold the header", () => {
  assert.throws(() => new PayloadFactory(10), RangeError);
});
