import assert from "node:assert/strict";
import { test } from "node:test";
import { fingerprintBytesPerLine, fingerprintLines } from "./fingerprint-lines.js";

const FP = Array.from({ length: 32 }, (_, i) => i.toString(16).toUpperCase().padStart(2, "0")).join(":");

test("a SHA-256 fingerprint is cut between bytes, 16 to a line by default", () => {
  const lines = fingerprintLines(FP);
  assert.deepEqual(lines, [
    "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F",
    "10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F",
  ]);
  assert.equal(lines.join(":"), FP, "nothing is lost or added");
});

test("every line of any width holds whole bytes only", () => {
  for (let perLine = 1; perLine <= 33; perLine++) {
    const lines = fingerprintLines(FP, perLine);
    assert.equal(lines.join(":"), FP);
    for (const line of lines)
      assert.match(line, /^[0-9A-F]{2}(:[0-9A-F]{2})*$/, `${perLine} per line: ${line}`);
    assert.ok(lines.every((l, i) => i === lines.length - 1 || l.split(":").length === perLine));
  }
  assert.throws(() => fingerprintLines(FP, 0), RangeError);
  assert.throws(() => fingerprintLines(FP, 1.5), RangeError);
});

test("the bytes that fit a terminal line", () => {
  assert.equal(fingerprintBytesPerLine(80, 2), 26); // 26 × 3 − 1 = 77 ≤ 78
  assert.equal(fingerprintBytesPerLine(47), 16); // exactly 16 bytes
  assert.equal(fingerprintBytesPerLine(46), 15);
  assert.equal(fingerprintBytesPerLine(3), 1);
  assert.equal(fingerprintBytesPerLine(0), 1, "at least one byte, even when nothing fits");
  for (let columns = 2; columns < 120; columns++) {
    const n = fingerprintBytesPerLine(columns, 2);
    if (columns >= 4) assert.ok(2 + fingerprintLines(FP, n)[0]!.length <= columns, `${columns} columns`);
  }
});
