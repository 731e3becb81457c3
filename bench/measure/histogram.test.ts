import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cdfPoints, LatencyHistogram, mergeHistograms, percentile, summarize } from "./histogram.js";

describe("LatencyHistogram", () => {
  test("reads percentiles within 1 % of the exact value", () => {
    const h = new LatencyHistogram();
    for (let us = 1; us <= 10_000; us++) h.record(us);
    const d = h.toData();
    for (const [p, exact] of [
      [50, 5000],
      [95, 9500],
      [99, 9900],
    ] as const) {
      const got = percentile(d, p);
      assert.ok(Math.abs(got - exact) / exact <= 0.01, `p${p}: ${got} vs ${exact}`);
    }
    assert.equal(percentile(d, 100), 10_000);
    assert.equal(d.minUs, 1);
  });

  test("merges by addition, as histograms from several processes must", () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 100; i++) a.record(100);
    for (let i = 0; i < 100; i++) b.record(10_000);
    const m = mergeHistograms([a.toData(), b.toData()]);
    assert.equal(m.count, 200);
    assert.equal(m.maxUs, 10_000);
    assert.ok(percentile(m, 50) <= 101);
    assert.ok(percentile(m, 51) >= 9900);
  });

  test("survives a trip through JSON", () => {
    const h = new LatencyHistogram();
    h.record(250);
    h.record(750);
    const again = LatencyHistogram.from(JSON.parse(JSON.stringify(h.toData())));
    assert.deepEqual(again.toData(), h.toData());
  });

  test("gives an empty summary and no CDF for no samples", () => {
    const d = new LatencyHistogram().toData();
    assert.equal(summarize(d).p99Ms, 0);
    assert.deepEqual(cdfPoints(d), []);
  });

  test("ends its CDF at 1", () => {
    const h = new LatencyHistogram();
    for (const us of [5, 50, 500]) h.record(us);
    assert.equal(cdfPoints(h.toData()).at(-1)?.[1], 1);
  });
});
