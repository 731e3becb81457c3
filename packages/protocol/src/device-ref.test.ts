import assert from "node:assert/strict";
import { test } from "node:test";
import { deviceKey, sameDevice } from "./device-ref.js";

test("deviceKey gives one key per device, from a ref or from its two ids", () => {
  assert.equal(deviceKey({ userId: "alice", deviceId: "phone" }), deviceKey("alice", "phone"));
  assert.equal(
    new Set([deviceKey("alice", "phone"), deviceKey({ userId: "alice", deviceId: "phone" })]).size,
    1,
  );
});

test("deviceKey keeps apart devices whose ids only join up the same way", () => {
  const pairs: [string, string][] = [
    ["ab", "c"],
    ["a", "bc"],
    ["a-b", "c"],
    ["a", "b-c"],
    ["a:b", "c"],
    ["a", "b:c"],
  ];
  const keys = new Set(pairs.map(([u, d]) => deviceKey(u, d)));
  assert.equal(keys.size, pairs.length);
});

test("sameDevice compares both ids", () => {
  assert.ok(sameDevice({ userId: "a", deviceId: "d" }, { userId: "a", deviceId: "d" }));
  assert.ok(!sameDevice({ userId: "a", deviceId: "d" }, { userId: "a", deviceId: "e" }));
  assert.ok(!sameDevice({ userId: "a", deviceId: "d" }, { userId: "b", deviceId: "d" }));
});
