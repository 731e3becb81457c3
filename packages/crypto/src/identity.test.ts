import assert from "node:assert/strict";
import { test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { isParleyCryptoError } from "./errors.js";
import {
  credentialFor,
  decodeDeviceRef,
  deviceRefFromCredential,
  encodeDeviceRef,
  exportDeviceIdentity,
  generateDeviceIdentity,
  importDeviceIdentity,
} from "./identity.js";

const invalidIdentity = (e: unknown) => isParleyCryptoError(e, "invalid_identity");

test("encodes a device ref as version, then length-prefixed account and device ids", () => {
  const bytes = encodeDeviceRef({ accountId: "ab", deviceId: "ç" });
  assert.deepEqual([...bytes], [1, 2, 0x61, 0x62, 2, 0xc3, 0xa7]);
  assert.deepEqual(decodeDeviceRef(bytes), { accountId: "ab", deviceId: "ç" });
});

test("is unambiguous where a separator-based encoding would not be", () => {
  const a = encodeDeviceRef({ accountId: "a:b", deviceId: "c" });
  const b = encodeDeviceRef({ accountId: "a", deviceId: "b:c" });
  assert.notDeepEqual(a, b);
});

test("round-trips through a basic credential", () => {
  const ref = { accountId: "u_42", deviceId: "d-7" };
  const c = credentialFor(ref);
  assert.equal(c.credentialType, "basic");
  assert.deepEqual(deviceRefFromCredential(c), ref);
});

test("rejects malformed identities with invalid_identity", () => {
  const cases: number[][] = [
    [],
    [2, 1, 0x61, 1, 0x62], // unknown version
    [1, 0, 1, 0x62], // empty account id
    [1, 1, 0x61, 0], // empty device id
    [1, 5, 0x61], // length beyond the end
    [1, 1, 0x61, 1, 0x62, 0], // trailing byte
    [1, 1, 0xff, 1, 0x62], // invalid UTF-8
    [1, 2, 0xc0, 0xaf, 1, 0x62], // overlong UTF-8
    [1, 1, 0x0a, 1, 0x62], // control character
  ];
  for (const c of cases)
    assert.throws(() => decodeDeviceRef(Uint8Array.from(c)), invalidIdentity, `case ${c}`);
  assert.throws(() => deviceRefFromCredential({ credentialType: "x509", certificates: [] }), invalidIdentity);
});

test("refuses to encode ids that could not be decoded", () => {
  assert.throws(() => encodeDeviceRef({ accountId: "", deviceId: "d" }), RangeError);
  assert.throws(() => encodeDeviceRef({ accountId: "a", deviceId: "x".repeat(256) }), RangeError);
  assert.throws(() => encodeDeviceRef({ accountId: "a\u0000", deviceId: "d" }), RangeError);
});

test("generates an Ed25519 key pair per device and restores it from bytes", async () => {
  const id = await generateDeviceIdentity({ accountId: "alice", deviceId: "laptop" });
  assert.equal(id.signaturePrivateKey.length, 32);
  assert.deepEqual(id.signaturePublicKey, ed25519.getPublicKey(id.signaturePrivateKey));
  const other = await generateDeviceIdentity({ accountId: "alice", deviceId: "phone" });
  assert.notDeepEqual(other.signaturePublicKey, id.signaturePublicKey);

  const restored = importDeviceIdentity(exportDeviceIdentity(id));
  assert.deepEqual(restored, id);
  assert.throws(
    () => importDeviceIdentity(Uint8Array.of(1, 2, 3)),
    (e: unknown) => isParleyCryptoError(e, "invalid_state"),
  );
});
