import assert from "node:assert/strict";
import { test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { isParleyCryptoError } from "./errors.js";
import {
  certificateFromCredential,
  credentialFor,
  decodeCertificate,
  decodeDeviceRef,
  decodeRevocation,
  deviceRefFromCredential,
  encodeCertificate,
  encodeDeviceRef,
  encodeRevocation,
  exportDeviceIdentity,
  forgetVerifiedCertificates,
  generateDeviceIdentity,
  generateIdentityKey,
  identityKeyFromSeed,
  importDeviceIdentity,
  signDeviceCertificate,
  signDeviceRevocation,
  verifyDeviceCertificate,
  verifyDeviceCertificateAsync,
  verifyDeviceRevocation,
} from "./identity.js";

const invalidIdentity = (e: unknown) => isParleyCryptoError(e, "invalid_identity");

test("encodes a device ref as version, then length-prefixed account and device ids", () => {
  const bytes = encodeDeviceRef({ userId: "ab", deviceId: "ç" });
  assert.deepEqual([...bytes], [1, 2, 0x61, 0x62, 2, 0xc3, 0xa7]);
  assert.deepEqual(decodeDeviceRef(bytes), { userId: "ab", deviceId: "ç" });
});

// Known answers, computed when the type still said `accountId`: the TypeScript field is
// `userId` (one DeviceRef with @parley/protocol), the bytes in credentials, on the wire and in
// device stores must not move. Ed25519 (RFC 8032) signatures are deterministic.
const KAT = {
  identitySeed: new Uint8Array(32).fill(7),
  deviceSeed: new Uint8Array(32).fill(9),
  ref: { userId: "u_alice", deviceId: "laptop" },
  createdAt: 1_700_000_000_000,
  revokedAt: 1_700_000_600_000,
  certificate:
    "0207755f616c696365066c6170746f70ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c" +
    "0000018bcfe56800b5cfcdb24b65a2fd241361af1db7eb443c5e6c6a364ce528c664e8831457544f397e9660f36bf4dc" +
    "318a1a296caba026abf616e682ea626ca985d294be043f0b",
  revocation:
    "0307755f616c696365066c6170746f70ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c" +
    "fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f6180000018bcfee8fc08d8a9996a3bc1bdb" +
    "b1f78ac9eb873e0ca76347bd50a54314997dbea1e50f525e15343ae8698d5f003b85db42ffda733f57c8622c300a846a" +
    "56326f6a4bfe4100",
};

test("a device certificate and revocation keep their known-answer bytes", () => {
  const ik = identityKeyFromSeed(KAT.identitySeed);
  const deviceKey = ed25519.getPublicKey(KAT.deviceSeed);
  const certificate = signDeviceCertificate(ik, KAT.ref, deviceKey, KAT.createdAt);
  assert.equal(bytesToHex(encodeCertificate(certificate)), KAT.certificate);
  const decoded = decodeCertificate(hexToBytes(KAT.certificate));
  assert.equal(decoded.userId, "u_alice");
  assert.equal(decoded.deviceId, "laptop");
  assert.ok(verifyDeviceCertificate(decoded, deviceKey));
  const revocation = signDeviceRevocation(ik, KAT.ref, deviceKey, KAT.revokedAt);
  assert.equal(bytesToHex(encodeRevocation(revocation)), KAT.revocation);
  assert.ok(verifyDeviceRevocation(decodeRevocation(hexToBytes(KAT.revocation))));
});

test("a device identity stored before the rename still loads and exports the same bytes", () => {
  const stored = hexToBytes(`02${KAT.certificate}${"09".repeat(32)}`);
  const identity = importDeviceIdentity(stored);
  assert.equal(identity.userId, "u_alice");
  assert.equal(identity.deviceId, "laptop");
  assert.deepEqual(identity.signaturePrivateKey, KAT.deviceSeed);
  assert.deepEqual(exportDeviceIdentity(identity), stored);
});

test("is unambiguous where a separator-based encoding would not be", () => {
  const a = encodeDeviceRef({ userId: "a:b", deviceId: "c" });
  const b = encodeDeviceRef({ userId: "a", deviceId: "b:c" });
  assert.notDeepEqual(a, b);
});

test("round-trips a certified device through a basic credential", async () => {
  const id = await generateDeviceIdentity({ userId: "u_42", deviceId: "d-7" });
  const c = credentialFor(id);
  assert.equal(c.credentialType, "basic");
  assert.deepEqual(deviceRefFromCredential(c), { userId: "u_42", deviceId: "d-7" });
  assert.ok(verifyDeviceCertificate(certificateFromCredential(c), id.signaturePublicKey));
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
  // A bare device reference (the pre-certificate credential) is no credential any more.
  const bare = {
    credentialType: "basic" as const,
    identity: encodeDeviceRef({ userId: "a", deviceId: "b" }),
  };
  assert.throws(() => deviceRefFromCredential(bare), invalidIdentity);
});

test("refuses to encode ids that could not be decoded", () => {
  assert.throws(() => encodeDeviceRef({ userId: "", deviceId: "d" }), RangeError);
  assert.throws(() => encodeDeviceRef({ userId: "a", deviceId: "x".repeat(256) }), RangeError);
  assert.throws(() => encodeDeviceRef({ userId: "a\u0000", deviceId: "d" }), RangeError);
});

test("generates an Ed25519 key pair per device and restores it from bytes", async () => {
  const id = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
  assert.equal(id.signaturePrivateKey.length, 32);
  assert.deepEqual(id.signaturePublicKey, ed25519.getPublicKey(id.signaturePrivateKey));
  const other = await generateDeviceIdentity({ userId: "alice", deviceId: "phone" });
  assert.notDeepEqual(other.signaturePublicKey, id.signaturePublicKey);

  const restored = importDeviceIdentity(exportDeviceIdentity(id));
  assert.deepEqual(restored, id);
  assert.throws(
    () => importDeviceIdentity(Uint8Array.of(1, 2, 3)),
    (e: unknown) => isParleyCryptoError(e, "invalid_state"),
  );
});

test("certifies a device key with the identity key, over every field", async () => {
  const ik = generateIdentityKey();
  const id = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" }, ik, 1_700_000_000_000);
  const cert = id.certificate;
  assert.deepEqual(cert.identityKey, ik.publicKey);
  assert.equal(cert.createdAt, 1_700_000_000_000);
  assert.ok(verifyDeviceCertificate(cert, id.signaturePublicKey));
  assert.deepEqual(decodeCertificate(encodeCertificate(cert)), cert);

  const other = generateIdentityKey();
  const tampered = [
    { ...cert, userId: "mallory" },
    { ...cert, deviceId: "phone" },
    { ...cert, createdAt: cert.createdAt + 1 },
    { ...cert, identityKey: other.publicKey },
    { ...cert, signature: Uint8Array.from(cert.signature, (b, i) => (i === 0 ? b ^ 1 : b)) },
  ];
  for (const t of tampered) assert.equal(verifyDeviceCertificate(t, id.signaturePublicKey), false);
  // Another device's key under this certificate, and a certificate by another identity key.
  const phone = await generateDeviceIdentity({ userId: "alice", deviceId: "phone" }, ik);
  assert.equal(verifyDeviceCertificate(cert, phone.signaturePublicKey), false);
  const forged = signDeviceCertificate(
    other,
    { userId: "alice", deviceId: "laptop" },
    id.signaturePublicKey,
    1,
  );
  assert.ok(verifyDeviceCertificate(forged, id.signaturePublicKey));
  assert.notDeepEqual(
    forged.identityKey,
    ik.publicKey,
    "valid, but names another identity key: pins catch it",
  );
});

test("decodes only well-formed certificates", async () => {
  const id = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
  const bytes = encodeCertificate(id.certificate);
  assert.throws(() => decodeCertificate(bytes.subarray(0, bytes.length - 1)), invalidIdentity);
  assert.throws(() => decodeCertificate(Uint8Array.of(...bytes, 0)), invalidIdentity);
  assert.throws(() => decodeCertificate(Uint8Array.of(3, ...bytes.subarray(1))), invalidIdentity);
});

test("signs revocations that verify only as signed", async () => {
  const ik = generateIdentityKey();
  const id = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" }, ik);
  const r = signDeviceRevocation(ik, id, id.signaturePublicKey, 5);
  assert.ok(verifyDeviceRevocation(r));
  assert.equal(verifyDeviceRevocation({ ...r, deviceId: "phone" }), false);
  assert.equal(verifyDeviceRevocation({ ...r, revokedAt: 6 }), false);
});

test("encodes a revocation that decodes to the same signed statement, and refuses broken bytes", async () => {
  const ik = generateIdentityKey();
  const id = await generateDeviceIdentity({ userId: "alice", deviceId: "phone" }, ik);
  const r = signDeviceRevocation(ik, id, id.signaturePublicKey, 1_700_000_000_000);
  const bytes = encodeRevocation(r);
  const back = decodeRevocation(bytes);
  assert.ok(verifyDeviceRevocation(back));
  assert.deepEqual({ ...back }, { ...r });
  assert.throws(() => decodeRevocation(bytes.subarray(0, bytes.length - 1)), invalidIdentity);
  assert.throws(() => decodeRevocation(Uint8Array.of(...bytes, 0)), invalidIdentity);
  assert.throws(() => decodeRevocation(encodeCertificate(id.certificate)), invalidIdentity);
  const flipped = Uint8Array.from(bytes);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  assert.equal(verifyDeviceRevocation(decodeRevocation(flipped)), false);
});

test("checks certificates alike in JavaScript and with the platform's Ed25519, keeping only what verified", async () => {
  const ik = generateIdentityKey();
  const id = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" }, ik, 1_700_000_000_000);
  const cert = id.certificate;
  // The same signature with S + L (the group order), a malleated copy RFC 8032 refuses: both
  // paths must refuse it alike.
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(cert.signature[i] ?? 0);
  s += L;
  const malleable = Uint8Array.from(cert.signature);
  for (let i = 32; i < 64; i++, s >>= 8n) malleable[i] = Number(s & 0xffn);
  const tampered = [
    { ...cert, deviceId: "phone" },
    { ...cert, createdAt: cert.createdAt + 1 },
    { ...cert, signature: malleable },
  ];
  for (const verify of [verifyDeviceCertificate, verifyDeviceCertificateAsync]) {
    forgetVerifiedCertificates();
    for (const t of tampered) assert.equal(await verify(t, id.signaturePublicKey), false, verify.name);
    assert.equal(await verify(cert, id.signaturePublicKey), true, verify.name);
    // Remembered: the certificate verified. Not remembered: anything else under it.
    for (const t of tampered) assert.equal(await verify(t, id.signaturePublicKey), false, verify.name);
    assert.equal(await verify(cert, Uint8Array.from(id.signaturePublicKey).reverse()), false, verify.name);
    assert.equal(await verify(cert, id.signaturePublicKey), true, verify.name);
  }
});
