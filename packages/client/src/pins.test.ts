import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { utf8ToBytes } from "@noble/ciphers/utils.js";
import { type DeviceAdded, type IdentityChange, KeyPins } from "./pins.js";
import { MemoryStore } from "./store.js";

const key = (n: number) => new Uint8Array(32).fill(n);

function pins(store = new MemoryStore()) {
  const changes: IdentityChange[] = [];
  const added: DeviceAdded[] = [];
  const p = new KeyPins(store, {
    identityChanged: (c) => changes.push(c),
    deviceAdded: (a) => added.push(a),
  });
  return { p, changes, added, store };
}

describe("KeyPins (trust per person)", () => {
  it("pins a person's identity key on first sight without any alarm", async () => {
    const { p, changes, added } = pins();
    assert.equal(await p.observe("bob", key(1), "laptop"), "unverified");
    assert.deepEqual(await p.identityKey("bob"), key(1));
    assert.deepEqual(changes, []);
    assert.deepEqual(added, []);
  });

  it("reports a new device certified by the pinned key quietly, and keeps a verified person verified", async () => {
    const { p, changes, added } = pins();
    await p.observe("bob", key(1), "laptop");
    await p.markVerified("bob");
    assert.equal(await p.observe("bob", key(1), "phone"), "verified");
    assert.deepEqual(added, [{ userId: "bob", deviceId: "phone" }]);
    await p.observe("bob", key(1), "phone");
    assert.equal(added.length, 1, "a device is news once");
    assert.deepEqual(changes, []);
  });

  it("does not report this very device as added to itself, but the account's other ones", async () => {
    const { p, added } = pins();
    await p.pinOwn("me", key(1), "laptop");
    assert.equal(await p.observe("me", key(1), "laptop"), "verified");
    assert.deepEqual(added, []);
    await p.observe("me", key(1), "phone");
    assert.deepEqual(added, [{ userId: "me", deviceId: "phone" }]);
  });

  it("records a removed device under the pinned key only, and never reports it as added again", async () => {
    const { p, added, changes } = pins();
    await p.observe("bob", key(1), "laptop");
    await p.markVerified("bob");
    assert.equal(await p.revoke("bob", "phone", key(2)), false, "another key's word counts for nothing");
    assert.equal(await p.isRevoked("bob", "phone"), false);
    assert.equal(await p.revoke("bob", "phone", key(1)), true);
    assert.equal(await p.revoke("bob", "phone", key(1)), false, "news once");
    assert.equal(await p.isRevoked("bob", "phone"), true);
    assert.equal(await p.observe("bob", key(1), "phone"), "verified");
    assert.deepEqual(added, []);
    assert.deepEqual(changes, []);
    assert.equal(await p.revoke("carol", "phone", key(1)), false, "nobody pinned");
  });

  it("alarms on another identity key: `changed` for a verified person, `changed_unverified` otherwise", async () => {
    const { p, changes } = pins();
    await p.observe("bob", key(1), "laptop");
    await p.markVerified("bob");
    assert.equal(await p.observe("bob", key(2), "evil"), "changed");
    assert.equal(changes[0]?.wasVerified, true);
    assert.deepEqual(changes[0]?.previousKey, key(1));

    await p.observe("carol", key(5), "laptop");
    assert.equal(await p.observe("carol", key(6), "phone"), "changed_unverified");
    assert.equal(changes[1]?.wasVerified, false);
    assert.equal(await p.state("carol"), "changed_unverified");
  });

  it("accepting a change makes the person unverified; verifying makes them verified", async () => {
    const { p } = pins();
    await p.observe("bob", key(1), "laptop");
    await p.markVerified("bob");
    await p.observe("bob", key(2), "laptop2");
    await p.acknowledge("bob");
    assert.equal(await p.state("bob"), "unverified");
    await p.markVerified("bob");
    assert.equal(await p.state("bob"), "verified");
  });

  it("does not alarm again for a retired key after the change was reviewed", async () => {
    const { p, changes } = pins();
    await p.observe("bob", key(1), "laptop");
    await p.observe("bob", key(2), "new");
    await p.acknowledge("bob");
    assert.equal(await p.observe("bob", key(1), "laptop"), "unverified");
    assert.equal(changes.length, 1);
  });

  it("does not mark a key verified that changed while the user was comparing", async () => {
    const { p } = pins();
    await p.observe("bob", key(1), "laptop");
    await p.observe("bob", key(2), "x");
    await p.markVerified("bob", key(1));
    assert.equal(await p.state("bob"), "changed_unverified");
  });

  it("lists verified marks for a linked device", async () => {
    const { p } = pins();
    await p.observe("bob", key(1), "laptop");
    await p.observe("carol", key(2), "laptop");
    await p.markVerified("bob");
    assert.deepEqual(await p.verifiedMarks(), [{ userId: "bob", identityKey: key(1) }]);
  });

  it("migrates per-device pins: unverified ones are dropped, verified ones become `changed` at the first identity key", async () => {
    const store = new MemoryStore();
    const legacy = (verified: boolean) =>
      utf8ToBytes(JSON.stringify({ v: 1, devices: [["laptop", "AAAA"]], verified, changed: false }));
    await store.put("pins/bob", legacy(false));
    await store.put("pins/carol", legacy(true));
    const { p, changes } = pins(store);
    assert.equal(await p.observe("bob", key(1), "laptop"), "unverified");
    assert.equal(await p.state("carol"), "verified");
    assert.equal(await p.observe("carol", key(2), "laptop"), "changed");
    assert.deepEqual(changes, []);
  });

  it("keeps a device id like __proto__ as data", async () => {
    const { p, added } = pins();
    await p.observe("bob", key(1), "laptop");
    await p.observe("bob", key(1), "__proto__");
    assert.deepEqual(added, [{ userId: "bob", deviceId: "__proto__" }]);
  });
});
