import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff, backoffDelay } from "./backoff.js";

const top = () => 0.999999999;

test("the delay ceiling doubles from baseMs per attempt", () => {
  const opts = { baseMs: 100, maxMs: 100_000, random: top };
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((a) => backoffDelay(a, opts)),
    [99, 199, 399, 799, 1599],
  );
});

test("no delay exceeds maxMs, even after very many attempts", () => {
  const opts = { baseMs: 500, maxMs: 30_000, random: top };
  for (const attempt of [6, 7, 20, 1023, 5000]) {
    const d = backoffDelay(attempt, opts);
    assert.ok(d < 30_000 && d >= 29_000, `attempt ${attempt}: ${d}`);
  }
});

test("full jitter: delays are uniform between 0 and the ceiling", () => {
  assert.equal(backoffDelay(3, { baseMs: 100, random: () => 0 }), 0);
  assert.equal(backoffDelay(3, { baseMs: 100, random: () => 0.5 }), 400);
  // A random source that returns 1 (out of contract) still stays below the ceiling.
  assert.ok(backoffDelay(3, { baseMs: 100, random: () => 1 }) < 800);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(backoffDelay(5, { baseMs: 100 }));
  assert.ok(seen.size > 50, "Math.random spreads the delays");
  for (const d of seen) assert.ok(d >= 0 && d < 3200);
});

test("Backoff counts failures and starts over after reset", () => {
  const b = new Backoff({ baseMs: 10, maxMs: 1000, random: top });
  assert.deepEqual([b.next(), b.next(), b.next()], [9, 19, 39]);
  assert.equal(b.attempt, 3);
  b.reset();
  assert.equal(b.attempt, 0);
  assert.equal(b.next(), 9);
});

test("misuse throws RangeError", () => {
  assert.throws(() => backoffDelay(-1), RangeError);
  assert.throws(() => backoffDelay(1.5), RangeError);
  assert.throws(() => backoffDelay(0, { baseMs: 0 }), RangeError);
  assert.throws(() => new Backoff({ baseMs: 1000, maxMs: 10 }), RangeError);
});
