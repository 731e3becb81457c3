// wireFrame: one unmasked WebSocket text frame per RFC 6455 §5.2, for every payload length form.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { wireFrame } from "./wire-frame.js";

/** Header fields as RFC 6455 §5.2 lays them out. */
function header(frame: Buffer) {
  const b0 = frame[0] ?? 0;
  const b1 = frame[1] ?? 0;
  const length7 = b1 & 0x7f;
  const length =
    length7 < 126 ? length7 : length7 === 126 ? frame.readUInt16BE(2) : Number(frame.readBigUInt64BE(2));
  const offset = length7 < 126 ? 2 : length7 === 126 ? 4 : 10;
  return {
    fin: (b0 & 0x80) !== 0,
    rsv: b0 & 0x70,
    opcode: b0 & 0x0f,
    masked: (b1 & 0x80) !== 0,
    length,
    offset,
  };
}

describe("wireFrame", () => {
  for (const size of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
    test(`frames ${size} bytes as one final, unmasked text frame with the shortest length form`, () => {
      const json = Buffer.alloc(size, 0x61);
      const frame = wireFrame(json);
      const h = header(frame);
      assert.deepEqual(
        { fin: h.fin, rsv: h.rsv, opcode: h.opcode, masked: h.masked, length: h.length },
        { fin: true, rsv: 0, opcode: 1, masked: false, length: size },
      );
      assert.equal(h.offset, size < 126 ? 2 : size < 65_536 ? 4 : 10);
      assert.equal(frame.length, h.offset + size);
      assert.ok(frame.subarray(h.offset).equals(json));
    });
  }

  test("counts a string's UTF-8 bytes, not its characters", () => {
    const text = '{"name":"Zoë 🙂"}';
    const frame = wireFrame(text);
    const h = header(frame);
    assert.equal(h.length, Buffer.byteLength(text));
    assert.equal(frame.subarray(h.offset).toString("utf8"), text);
  });

  test("frames a string and the same bytes as a buffer alike", () => {
    const text = JSON.stringify({ type: "ack", id: "x".repeat(200), ts: 1 });
    assert.ok(wireFrame(text).equals(wireFrame(Buffer.from(text))));
  });
});
