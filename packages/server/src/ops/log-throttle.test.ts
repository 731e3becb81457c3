import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LogThrottle } from "./log-throttle.js";

describe("LogThrottle", () => {
  test("lets one line per kind through per interval and counts the ones it folded", () => {
    let now = 0;
    const t = new LogThrottle(1000, () => now);
    assert.equal(t.take("a"), 1);
    assert.equal(t.take("a"), 0);
    assert.equal(t.take("b"), 1);
    assert.equal(t.take("a"), 0);
    now = 1000;
    assert.equal(t.take("a"), 3);
    assert.equal(t.take("a"), 0);
  });
});
