import assert from "node:assert/strict";
import { test } from "node:test";
import { generateDeviceIdentity } from "./identity.js";
import { signMessageOrigin, verifyMessageOrigin } from "./message-origin.js";

test("an origin signature checks against its device's key and nothing else", async () => {
  const alice = await generateDeviceIdentity({ userId: "u-alice", deviceId: "laptop" });
  const mallory = await generateDeviceIdentity({ userId: "u-mallory", deviceId: "phone" });
  const body = JSON.stringify(["ROOM01", "u-alice", "laptop", "a".repeat(32), 1, { text: "hi" }]);
  const sig = await signMessageOrigin(alice, body);
  assert.equal(await verifyMessageOrigin(alice.signaturePublicKey, body, sig), true);
  assert.equal(await verifyMessageOrigin(alice.signaturePublicKey, body.replace("hi", "ho"), sig), false);
  assert.equal(await verifyMessageOrigin(mallory.signaturePublicKey, body, sig), false);
  assert.equal(await verifyMessageOrigin(alice.signaturePublicKey, body, sig.slice(1)), false);
});
