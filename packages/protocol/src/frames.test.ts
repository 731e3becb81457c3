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
