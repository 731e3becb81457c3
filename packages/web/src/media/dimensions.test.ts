import assert from "node:assert/strict";
import { test } from "node:test";
import { fitWithin } from "./dimensions.js";

test("a large photo shrinks to fit its longer side, keeping its shape", () => {
  assert.deepEqual(fitWithin(4000, 3000, 320), { width: 320, height: 240 });
  assert.deepEqual(fitWithin(1080, 2400, 320), { width: 144, height: 320 });
});

test("a small image is never enlarged, and a sliver keeps at least one pixel", () => {
  assert.deepEqual(fitWithin(100, 50, 320), { width: 100, height: 50 });
  assert.deepEqual(fitWithin(10_000, 1, 320), { width: 320, height: 1 });
  assert.throws(() => fitWithin(0, 10, 320), RangeError);
});
