import assert from "node:assert/strict";
import { test } from "node:test";
import { Check } from "typebox/value";
import { CLIENT_FRAME_SCHEMAS, ClientFrame, SERVER_FRAME_SCHEMAS, ServerFrame } from "./frames.js";

test("there is one schema per frame type, for each direction", () => {
  assert.equal(CLIENT_FRAME_SCHEMAS.size, ClientFrame.anyOf.length);
  assert.equal(SERVER_FRAME_SCHEMAS.size, ServerFrame.anyOf.length);
  for (const [type, schema] of [...CLIENT_FRAME_SCHEMAS, ...SERVER_FRAME_SCHEMAS]) {
    assert.equal(schema.properties.type.const, type);
  }
});

test("a frame's type picks the schema that checks it", () => {
  const join = CLIENT_FRAME_SCHEMAS.get("room.join");
  assert.ok(join !== undefined);
  assert.equal(Check(join, { type: "room.join", roomId: "abc234" }), true);
  assert.equal(Check(join, { type: "room.join", roomId: "abc23O" }), false);
  assert.equal(Check(join, { type: "room.leave", roomId: "abc234" }), false);
  assert.equal(CLIENT_FRAME_SCHEMAS.get("no.such.frame"), undefined);
  assert.equal(CLIENT_FRAME_SCHEMAS.get("ready"), undefined, "server frames are not client frames");
  assert.ok(SERVER_FRAME_SCHEMAS.has("ready"));
});

test("identity.reset (IDENT-4) names a person and nothing else can pass for one", () => {
  const reset = SERVER_FRAME_SCHEMAS.get("identity.reset");
  assert.ok(reset !== undefined);
  assert.equal(Check(reset, { type: "identity.reset", userId: "u1" }), true);
  assert.equal(Check(reset, { type: "identity.reset", userId: "" }), false);
  assert.equal(Check(reset, { type: "identity.reset", userId: 7 }), false);
  assert.equal(Check(reset, { type: "identity.reset" }), false);
  assert.equal(Check(reset, { type: "identity.reset", userId: "x".repeat(10_000) }), false);
});

test("identity.resets.list asks from a time, and identity.resets (IDENT-4) names at most 64 people", () => {
  const list = CLIENT_FRAME_SCHEMAS.get("identity.resets.list");
  assert.ok(list !== undefined);
  assert.equal(Check(list, { type: "identity.resets.list", rid: "r1", since: 1_700_000_000_000 }), true);
  assert.equal(Check(list, { type: "identity.resets.list", since: 0 }), true);
  for (const since of [-1, 1.5, "1", null, undefined])
    assert.equal(Check(list, { type: "identity.resets.list", since }), false, `since ${String(since)}`);
  const answer = SERVER_FRAME_SCHEMAS.get("identity.resets");
  assert.ok(answer !== undefined);
  const people = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);
  assert.equal(Check(answer, { type: "identity.resets", rid: "r1", userIds: [] }), true);
  assert.equal(Check(answer, { type: "identity.resets", userIds: people(64) }), true);
  assert.equal(Check(answer, { type: "identity.resets", userIds: people(65) }), false, "a flood");
  assert.equal(Check(answer, { type: "identity.resets", userIds: [""] }), false);
  assert.equal(Check(answer, { type: "identity.resets", userIds: [7] }), false);
  assert.equal(Check(answer, { type: "identity.resets", userIds: ["x".repeat(10_000)] }), false);
});
