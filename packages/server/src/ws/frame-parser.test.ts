// FrameParser: what it accepts and how it refuses (WS-3).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PROTOCOL_VERSION } from "@parley/protocol";
import { ParleyError } from "../domain/errors.js";
import { FrameError, FrameParser } from "./frame-parser.js";

const parser = new FrameParser();

function refusal(text: string): { code: string; details?: readonly string[]; rid?: string } {
  try {
    parser.parse(text);
  } catch (e) {
    assert.ok(e instanceof ParleyError);
    return {
      code: e.code,
      ...(e.details ? { details: e.details } : {}),
      ...(e instanceof FrameError && e.rid !== undefined ? { rid: e.rid } : {}),
    };
  }
  assert.fail(`accepted ${text}`);
}

describe("FrameParser", () => {
  test("accepts a valid frame of every client type it knows", () => {
    assert.ok(parser.types.includes("message.send"));
    assert.ok(parser.types.includes("auth"));
    const frame = parser.parse(
      JSON.stringify({ type: "auth", token: "t", protocolVersion: PROTOCOL_VERSION }),
    );
    assert.equal(frame.type, "auth");
  });

  test("refuses text that is not JSON as malformed_json (WS-3)", () => {
    assert.deepEqual(refusal("{not json"), { code: "malformed_json" });
  });

  test("refuses an unknown or missing type with details /type, keeping a usable rid (WS-3)", () => {
    assert.deepEqual(refusal('{"type":"nope","rid":"r1"}'), {
      code: "validation_failed",
      details: ["/type"],
      rid: "r1",
    });
    assert.deepEqual(refusal("[1,2]"), { code: "validation_failed", details: ["/type"] });
    assert.deepEqual(refusal("null"), { code: "validation_failed", details: ["/type"] });
  });

  test("points at the wrong field of a known type, not at every branch of the union", () => {
    const r = refusal(JSON.stringify({ type: "queue.ack", upTo: "three", rid: "r2" }));
    assert.equal(r.code, "validation_failed");
    assert.deepEqual(r.details, ["/upTo"]);
    assert.equal(r.rid, "r2");
  });

  test("drops a rid it could not send back (not a string of 1 to 64 characters)", () => {
    assert.equal(refusal(JSON.stringify({ type: "nope", rid: "" })).rid, undefined);
    assert.equal(refusal(JSON.stringify({ type: "nope", rid: "x".repeat(65) })).rid, undefined);
    assert.equal(refusal(JSON.stringify({ type: "nope", rid: 7 })).rid, undefined);
  });

  test("drops __proto__ and constructor keys instead of letting them reach an object", () => {
    const frame = parser.parse('{"type":"room.list","__proto__":{"polluted":true},"constructor":{"x":1}}');
    assert.equal(frame.type, "room.list");
    assert.equal(Object.hasOwn(frame, "__proto__"), false);
    assert.equal((frame as { polluted?: boolean }).polluted, undefined);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  test("drops those keys when they are spelled with JSON escapes too", () => {
    const frame = parser.parse(
      '{"type":"room.list","\\u005f_proto__":{"polluted":true},"\\u0063onstructor":{"x":1},"prototyp\\u0065":2}',
    );
    assert.equal(frame.type, "room.list");
    assert.equal(Object.hasOwn(frame, "__proto__"), false);
    assert.equal(Object.hasOwn(frame, "constructor"), false);
    assert.equal(Object.hasOwn(frame, "prototype"), false);
    assert.equal((frame as { polluted?: boolean }).polluted, undefined);
  });

  test("parses a frame with none of those keys to the same value", () => {
    const text = JSON.stringify({ type: "message.send", rid: "r1", to: { room: "ABC234" }, payload: "QUJD" });
    assert.deepEqual(parser.parse(text), JSON.parse(text));
  });

  test("ignores unknown fields", () => {
    assert.equal(parser.parse('{"type":"room.list","extra":1}').type, "room.list");
  });
});
