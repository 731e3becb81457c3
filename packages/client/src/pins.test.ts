import assert from "node:assert/strict";
import { test } from "node:test";
import { type KeyChange, KeyPins } from "./pins.js";
import { MemoryStore } from "./store.js";

const k = (n: number) => new Uint8Array(32).fill(n);

function pins(store = new MemoryStore()) {
  const changes: KeyChange[] = [];
  return { pins: new KeyPins(store, (c) => changes.push(c)), changes, store };
}

test("the first keys seen for a user are pinned silently, as unverified", async () => {
  const { pins: p, changes } = pins();
  assert.deepEqual(
    await p.observe("alice", [
      { deviceId: "d1", key: k(1) },
      { deviceId: "d2", key: k(2) },
    ]),
    [],
  );
  assert.deepEqual(changes, []);
  assert.equal(await p.state("alice"), "unverified");
  assert.deepEqual([...(await p.pinned("alice")).keys()].sort(), ["d1", "d2"]);
});

test("seeing the pinned key again changes nothing", async () => {
  const { pins: p, changes } = pins();
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  assert.deepEqual(changes, []);
  assert.equal(await p.state("alice"), "unverified");
});

test("a changed key raises key_changed and marks the user changed", async () => {
  const { pins: p, changes } = pins();
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  const out = await p.observe("alice", [{ deviceId: "d1", key: k(9) }]);
  assert.equal(out.length, 1);
  assert.deepEqual(changes, out);
  assert.equal(changes[0]?.kind, "key_changed");
  assert.deepEqual(changes[0]?.previousKey, k(1));
  assert.deepEqual(changes[0]?.key, k(9));
  assert.equal(await p.state("alice"), "changed");
  assert.deepEqual((await p.pinned("alice")).get("d1"), k(9));
});

test("a new device of a known user raises key_changed with kind new_device", async () => {
  const { pins: p, changes } = pins();
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  await p.observe("alice", [{ deviceId: "d2", key: k(2) }]);
  assert.equal(changes.length, 1);
  assert.equal(changes[0]?.kind, "new_device");
  assert.equal(changes[0]?.previousKey, undefined);
  assert.equal(await p.state("alice"), "changed");
});

test("markVerified trusts the current keys until the next change", async () => {
  const { pins: p } = pins();
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  await p.markVerified("alice");
  assert.equal(await p.state("alice"), "verified");
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  assert.equal(await p.state("alice"), "verified");
  await p.observe("alice", [{ deviceId: "d1", key: k(3) }]);
  assert.equal(await p.state("alice"), "changed");
  await p.markVerified("alice");
  assert.equal(await p.state("alice"), "verified");
});

test("acknowledge clears a change without trusting the keys, until the next change", async () => {
  const { pins: p, changes } = pins();
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  await p.markVerified("alice");
  await p.observe("alice", [{ deviceId: "d1", key: k(2) }]);
  assert.equal(await p.state("alice"), "changed");
  await p.acknowledge("alice");
  assert.equal(await p.state("alice"), "unverified");
  await p.observe("alice", [{ deviceId: "d1", key: k(2) }]);
  assert.equal(await p.state("alice"), "unverified");
  await p.observe("alice", [{ deviceId: "d1", key: k(3) }]);
  assert.equal(await p.state("alice"), "changed");
  assert.equal(changes.length, 2);
});

test("acknowledge leaves a verified or unknown user as it was", async () => {
  const { pins: p } = pins();
  await p.acknowledge("nobody");
  assert.equal(await p.state("nobody"), "unverified");
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  await p.markVerified("alice");
  await p.acknowledge("alice");
  assert.equal(await p.state("alice"), "verified");
});

test("pins are per user", async () => {
  const { pins: p, changes } = pins();
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  await p.observe("bob", [{ deviceId: "d1", key: k(2) }]);
  assert.deepEqual(changes, []);
  assert.equal(await p.state("carol"), "unverified");
});

test("pins survive a restart (they live in the store)", async () => {
  const store = new MemoryStore();
  const first = pins(store);
  await first.pins.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  await first.pins.markVerified("alice");
  const second = pins(store);
  assert.equal(await second.pins.state("alice"), "verified");
  await second.pins.observe("alice", [{ deviceId: "d1", key: k(2) }]);
  assert.equal(second.changes.length, 1);
});

test("concurrent observations of one user are applied one after another", async () => {
  const { pins: p, changes } = pins();
  await p.observe("alice", [{ deviceId: "d0", key: k(100) }]);
  await Promise.all([1, 2, 3, 4].map((n) => p.observe("alice", [{ deviceId: `d${n}`, key: k(n) }])));
  assert.equal(changes.length, 4);
  assert.equal((await p.pinned("alice")).size, 5);
});

test("a device id like __proto__ is just a device id", async () => {
  const { pins: p, changes } = pins();
  await p.observe("alice", [{ deviceId: "d1", key: k(1) }]);
  await p.observe("alice", [{ deviceId: "__proto__", key: k(2) }]);
  assert.equal(changes[0]?.kind, "new_device");
  assert.deepEqual((await p.pinned("alice")).get("__proto__"), k(2));
});
