/**
 * The package must work in a page without WebCrypto's `crypto.subtle` (DESIGN.md: "our own
 * @noble provider so it works in any browser context"). This file makes any access to
 * `crypto.subtle` throw, then loads the package and runs a whole group through it. node:test
 * runs each test file in its own process, so no other file sees the patched global.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

test("runs a whole group without touching crypto.subtle", async () => {
  Object.defineProperty(globalThis.crypto, "subtle", {
    configurable: true,
    get() {
      throw new Error("crypto.subtle was used");
    },
  });
  assert.throws(() => globalThis.crypto.subtle, /crypto\.subtle was used/);

  const p = await import("./index.js");
  const a = await p.generateDeviceIdentity({ userId: "alice", deviceId: "browser" });
  const b = await p.generateDeviceIdentity({ userId: "bob", deviceId: "browser" });
  const [kpB] = await p.generateKeyPackages(b, 1);
  assert.ok(kpB !== undefined);
  const pending = await p.addMembers(await p.createGroup(a), [kpB.keyPackage]);
  let alice = p.mergePendingCommit(pending);
  assert.ok(pending.welcome !== undefined);
  let bob = await p.joinFromWelcome(pending.welcome, [kpB], b);

  const update = await p.selfUpdate(bob);
  bob = p.mergePendingCommit(update);
  const processed = await p.processMessage(alice, update.commit);
  alice = processed.state;

  const sent = await p.encryptApplicationMessage(alice, new TextEncoder().encode("no subtle here"));
  const got = await p.processMessage(bob, sent.message);
  assert.equal(got.kind, "application");
  if (got.kind === "application") assert.equal(new TextDecoder().decode(got.plaintext), "no subtle here");

  const restored = p.importGroupState(p.exportGroupState(got.state));
  assert.equal(p.groupEpoch(restored), 2n);
  const sn = p.computeSafetyNumber(
    { userId: "alice", identityKeys: [a.signaturePublicKey] },
    { userId: "bob", identityKeys: [b.signaturePublicKey] },
  );
  assert.equal(sn.digits.length, 60);
});
