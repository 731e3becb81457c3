import assert from "node:assert/strict";
import { test } from "node:test";
import { median, percentile, ratio, spread } from "./stats.js";

test("median of an odd and an even count", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test("spread ignores runs that measured nothing", () => {
  const s = spread([10, Number.NaN, 12, 8]);
  assert.deepEqual([s.median, s.min, s.max, s.n], [10, 8, 12, 3]);
  assert.equal(s.spreadPct, 40);
});

test("ratio is NaN when the reference is missing or zero", () => {
  assert.equal(ratio(2, 4), 0.5);
  assert.ok(Number.isNaN(ratio(2, 0)));
  assert.ok(Number.isNaN(ratio(Number.NaN, 4)));
});

test("percentile is nearest-rank: always one of the samples", () => {
  const five = [50, 10, 40, 20, 30];
  assert.equal(percentile(five, 50), 30);
  assert.equal(percentile(five, 95), 50);
  assert.equal(percentile(five, 20), 10);
  assert.equal(percentile([7], 95), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.ok(Number.isNaN(percentile([Number.NaN], 50)));
});

test("percentile refuses a rank outside (0, 100] with a RangeError", () => {
  assert.throws(() => percentile([1], 0), RangeError);
  assert.throws(() => percentile([1], 101), RangeError);
});
