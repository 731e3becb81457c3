// TokenBuckets: LIMIT-2's per-user frame budget.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TokenBuckets } from "./token-bucket.js";

function clocked(rate: number, burst: number) {
  let now = 0;
  const buckets = new TokenBuckets(rate, burst, () => now);
  return { buckets, advance: (ms: number) => (now += ms) };
}

describe("TokenBuckets", () => {
  test("allows the burst, then answers how long until the next token", () => {
    const { buckets, advance } = clocked(2, 3);
    for (let i = 0; i < 3; i++) assert.equal(buckets.take("alice"), 0);
    assert.equal(buckets.take("alice"), 500, "2 tokens a second: the next in 500 ms");
    assert.equal(buckets.take("bob"), 0, "each key has its own bucket");
    advance(500);
    assert.equal(buckets.take("alice"), 0);
  });

  test("forget keeps a bucket that has not refilled, so a reconnect buys no fresh burst", () => {
    const { buckets, advance } = clocked(1, 2);
    buckets.take("alice");
    buckets.take("alice");
    buckets.forget("alice");
    assert.equal(buckets.size, 1);
    assert.ok(buckets.take("alice") > 0, "still spent after forget");
    advance(5_000);
    buckets.forget("alice");
    assert.equal(buckets.size, 0, "a full bucket is dropped: a fresh one is the same");
    buckets.forget("nobody");
    assert.equal(buckets.size, 0);
  });
});
