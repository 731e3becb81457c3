import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePlan } from "./plan.js";

test("quick mode is one short repetition of a subset", () => {
  const p = parsePlan(["--quick"], "/tmp/out");
  assert.equal(p.mode, "quick");
  assert.equal(p.repetitions, 1);
  assert.ok(p.durationS <= 3);
  assert.ok(!p.scenarios.includes("tls"));
  assert.equal(p.freshServers, false);
});

test("the full run has three repetitions on fresh servers", () => {
  const p = parsePlan([], "/tmp/out");
  assert.equal(p.repetitions, 3);
  assert.equal(p.freshServers, true);
  assert.deepEqual(p.idleSteps, [1000, 10_000, 20_000]);
  assert.deepEqual(p.fanoutRoomSizes, [10, 100]);
});

test("rejects unknown targets and impossible numbers with a TypeError", () => {
  assert.throws(() => parsePlan(["--targets", "nginx"], "/tmp"), TypeError);
  assert.throws(() => parsePlan(["--reps", "0"], "/tmp"), TypeError);
  assert.throws(() => parsePlan(["--clients", "50", "--room-sizes", "100"], "/tmp"), TypeError);
});

test("quick mode keeps the crypto and web scenarios small: no 100-member groups, two page loads", () => {
  const quick = parsePlan(["--quick"], "/tmp/out");
  assert.ok(quick.scenarios.includes("crypto") && quick.scenarios.includes("web"));
  assert.ok(!quick.cryptoAdds.includes(100));
  assert.ok(!quick.cryptoGroupSizes.includes(100));
  assert.equal(quick.webLoads, 2);
  const full = parsePlan([], "/tmp/out");
  assert.deepEqual(full.cryptoAdds, [1, 10, 100, 500]);
  assert.deepEqual(full.cryptoGroupSizes, [10, 100, 500]);
});
