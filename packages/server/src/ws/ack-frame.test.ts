// ackFrame: the same bytes as the generic serialiser, for any rid a client may send (WS-6).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MessageIdGenerator } from "../domain/message-id-generator.js";
import { ackFrame } from "./ack-frame.js";

describe("ackFrame", () => {
  const ids = new MessageIdGenerator();

  test("writes what JSON.stringify writes, key order included, with or without a rid", () => {
    const rids = [
      undefined,
      "1",
      "r-42",
      'quote " and \\ backslash',
      "line\nbreak\ttab",
      "é 🙂 \u2028",
      "\u0000\u001f",
    ];
    for (const rid of rids) {
      for (let i = 0; i < 50; i++) {
        const sent = { id: ids.next(), ts: 1_765_000_000_000 + i };
        const expected = JSON.stringify({ type: "ack", ...(rid !== undefined ? { rid } : {}), ...sent });
        assert.equal(ackFrame(rid, sent), expected);
        assert.deepEqual(JSON.parse(ackFrame(rid, sent)), JSON.parse(expected));
      }
    }
  });
});
