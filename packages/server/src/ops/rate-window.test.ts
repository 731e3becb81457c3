import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RateWindow } from "./rate-window.js";

describe("RateWindow", () => {
  test("counts the growth since the first sample while a window has not passed yet", () => {
    let n = 5;
    const w = new RateWindow(() => n, 60_000, 0);
    n = 9;
    assert.equal(w.growth(1_000), 4);
  });

  test("forgets what grew before the last window, to within one sampling step", () => {
    let n = 0;
    const w = new RateWindow(() => n, 60_000, 0);
    for (let at = 10_000; at <= 120_000; at += 10_000) {
      n += at <= 50_000 ? 10 : 1;
      w.sample(at);
    }
    // Samples at 60 s hold 51; the counter is 57 at 120 s: the last minute saw 6.
    assert.equal(w.growth(120_000), 6);
  });

  test("counts only the last window after a long run of samples", () => {
    let n = 0;
    const w = new RateWindow(() => n, 60_000, 0);
    for (let at = 1; at <= 100_000; at++) {
      n++;
      w.sample(at * 1000);
    }
    assert.equal(w.growth(100_000_000), 60);
  });

  test("refuses a window that is not positive", () => {
    assert.throws(() => new RateWindow(() => 0, 0, 0), RangeError);
  });
});
