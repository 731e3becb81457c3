/**
 * Device identity: one Ed25519 signature key pair per device (RFC 9420 §5.1.2), certified by
 * the person's identity key (one per account, shared by their linked devices), and the MLS
 * credential that carries the certificate. Clients pin the identity key per person and check
 * each device's certificate themselves; the server keeps copies for discovery and checks them
 * too, but cannot make one (docs/SECURITY.md, "One identity per person").
 *
 * Device reference encoding (inside certificates; version 1 on its own is no credential):
 *
 *   struct {
 *     uint8 version = 1;
 *     opaque account_id<1..255>;   // UTF-8, one length byte
 *     opaque device_id<1..255>;    // UTF-8, one length byte
 *   } ParleyIdentity;
 *
 * `account_id` holds the DeviceRef's `userId` (@parley/protocol): one shape for a device in
 * every package, whatever the field is called on the wire.
 *
 * Length prefixes make it unambiguous (no separator can be smuggled inside an id), and decoding
 * accepts exactly one byte string per pair of ids: canonical UTF-8, no trailing bytes, no
 * control characters.
 */
import { bytesToUtf8, equalBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes } from "@noble/hashes/utils.js";
import type { DeviceRef } from "@parley/protocol";
import type { Credential, CredentialBasic } from "ts-mls";
import { ed25519Verify } from "./ed25519.js";
import { ParleyCryptoError } from "./errors.js";
import { parleyCiphersuite } from "./provider.js";

/**
 * A device's long-term signing identity. `signaturePrivateKey` is the 32-byte Ed25519 seed;
 * `certificate` is the person's identity key vouching for `signaturePublicKey`.
 */
export interface DeviceIdentity extends DeviceRef {
  readonly signaturePublicKey: Uint8Array;
  readonly signaturePrivateKey: Uint8Array;
  readonly certificate: DeviceCertificate;
}

const IDENTITY_VERSION = 1;
const MAX_ID_BYTES = 255;
const ED25519_KEY_LENGTH = 32;
// C0 controls and DEL: an id that can move a cursor or hide text has no business in a UI.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

function idBytes(name: string, value: string): Uint8Array {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string`);
  if (value.length === 0) throw new RangeError(`${name} must not be empty`);
  if (CONTROL.test(value)) throw new RangeError(`${name} must not contain control characters`);
  const b = utf8ToBytes(value);
  if (b.length > MAX_ID_BYTES) throw new RangeError(`${name} must be at most ${MAX_ID_BYTES} bytes of UTF-8`);
  return b;
}

/** Encodes a DeviceRef as the ParleyIdentity above. Throws TypeError/RangeError on bad ids. */
export function encodeDeviceRef(ref: DeviceRef): Uint8Array {
  const account = idBytes("userId", ref.userId);
  const device = idBytes("deviceId", ref.deviceId);
  const out = new Uint8Array(3 + account.length + device.length);
  out[0] = IDENTITY_VERSION;
  out[1] = account.length;
  out.set(account, 2);
  out[2 + account.length] = device.length;
  out.set(device, 3 + account.length);
  return out;
}

function readId(bytes: Uint8Array, offset: number): [string, number] {
  const len = bytes[offset];
  if (len === undefined || len === 0 || offset + 1 + len > bytes.length) {
    throw new ParleyCryptoError("invalid_identity");
  }
  const raw = bytes.subarray(offset + 1, offset + 1 + len);
  const text = bytesToUtf8(raw);
  // Invalid UTF-8 decodes to U+FFFD and so does not re-encode to the same bytes.
  if (!equalBytes(utf8ToBytes(text), raw) || CONTROL.test(text))
    throw new ParleyCryptoError("invalid_identity");
  return [text, offset + 1 + len];
}

/** Decodes and validates a ParleyIdentity. Throws ParleyCryptoError `invalid_identity`. */
export function decodeDeviceRef(bytes: Uint8Array): DeviceRef {
  if (bytes[0] !== IDENTITY_VERSION) throw new ParleyCryptoError("invalid_identity");
  const [userId, next] = readId(bytes, 1);
  const [deviceId, end] = readId(bytes, next);
  if (end !== bytes.length) throw new ParleyCryptoError("invalid_identity");
  return { userId, deviceId };
}

// ---------------------------------------------------------------------------------------------
// A person's identity key and the certificates it gives their devices

/**
 * A person's identity key: one Ed25519 key pair per account, made on their first device and
 * copied to the devices they link (docs/SECURITY.md, "One identity per person").
 * `privateKey` is the 32-byte seed.
 */
export interface IdentityKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/**
 * The identity key's statement about one device: "this MLS signature key is device `deviceId`
 * of account `userId`, since `createdAt`". It travels as the `identity` of the device's MLS
 * BasicCredential (RFC 9420 §5.3), so every member checks it locally; the device signature key
 * is not repeated inside, it is the leaf's own `signature_key` that the signature covers.
 *
 *   struct {
 *     uint8 version = 2;
 *     opaque account_id<1..255>;   // UTF-8, one length byte, as ParleyIdentity
 *     opaque device_id<1..255>;
 *     opaque identity_key[32];     // Ed25519 public key
 *     uint64 created_at;           // ms since the Unix epoch
 *     opaque signature[64];        // Ed25519 (RFC 8032) by identity_key over the TBS below
 *   } ParleyDeviceCertificate;
 *
 *   TBS = "Parley device certificate v1" || 0x00 || ParleyIdentity (version 1)
 *         || identity_key || device_signature_key[32] || created_at
 *
 * The label keeps a certificate signature from ever being valid as any other Parley or MLS
 * signature (MLS labels start with "MLS 1.0 "); the ParleyIdentity encoding is length-prefixed.
 */
export interface DeviceCertificate extends DeviceRef {
  readonly identityKey: Uint8Array;
  readonly createdAt: number;
  readonly signature: Uint8Array;
}

const CERTIFICATE_VERSION = 2;
const CERTIFICATE_LABEL = utf8ToBytes("Parley device certificate v1\u0000");
const REVOCATION_LABEL = utf8ToBytes("Parley device revocation v1\u0000");
const SIGNATURE_LENGTH = 64;

function u64(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError("a time must be a non-negative integer");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

function key32(name: string, key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== ED25519_KEY_LENGTH)
    throw new RangeError(`${name} must be a ${ED25519_KEY_LENGTH}-byte Ed25519 key`);
  return key;
}

function certificateTbs(ref: DeviceRef, identityKey: Uint8Array, deviceKey: Uint8Array, createdAt: number) {
  return concatBytes(
    CERTIFICATE_LABEL,
    encodeDeviceRef(ref),
    key32("identityKey", identityKey),
    key32("deviceKey", deviceKey),
    u64(createdAt),
  );
}

/** A new identity key (RFC 8032 key generation from 32 random bytes). */
export function generateIdentityKey(): IdentityKeyPair {
  const privateKey = ed25519.utils.randomSecretKey();
  return Object.freeze({ publicKey: ed25519.getPublicKey(privateKey), privateKey });
}

/** The identity key pair from its 32-byte seed. */
export function identityKeyFromSeed(seed: Uint8Array): IdentityKeyPair {
  const privateKey = Uint8Array.from(key32("seed", seed));
  return Object.freeze({ publicKey: ed25519.getPublicKey(privateKey), privateKey });
}

/** The identity key certifies `deviceKey` as device `ref` (see DeviceCertificate). */
export function signDeviceCertificate(
  identityKey: IdentityKeyPair,
  ref: DeviceRef,
  deviceKey: Uint8Array,
  createdAt: number,
): DeviceCertificate {
  const tbs = certificateTbs(ref, identityKey.publicKey, deviceKey, createdAt);
  return Object.freeze({
    userId: ref.userId,
    deviceId: ref.deviceId,
    identityKey: Uint8Array.from(identityKey.publicKey),
    createdAt,
    signature: ed25519.sign(tbs, identityKey.privateKey),
  });
}

/**
 * Certificates already verified, by a hash of exactly what was signed and the signature: a group
 * of n members shows the same n certificates in every Welcome, KeyPackage and Commit that names
 * them, and Ed25519 in JavaScript costs about a millisecond each. Public data only; bounded,
 * emptied when full. Only successes are kept, so a forged certificate is checked every time.
 */
const VERIFIED_MAX = 4096;
const verified = new Set<string>();

/** Forgets every verified certificate: for measurements that play several devices in one process. */
export function forgetVerifiedCertificates(): void {
  verified.clear();
}

function verifiedId(tbs: Uint8Array, signature: Uint8Array): string {
  return bytesToHex(sha256(concatBytes(tbs, signature)));
}

function remember(id: string): void {
  if (verified.size >= VERIFIED_MAX) verified.clear();
  verified.add(id);
}

/**
 * True when the certificate is the identity key's signature over exactly these fields and
 * `deviceKey` (strict RFC 8032, as WebCrypto checks it: see verifyDeviceCertificateAsync).
 */
export function verifyDeviceCertificate(certificate: DeviceCertificate, deviceKey: Uint8Array): boolean {
  try {
    const tbs = certificateTbs(certificate, certificate.identityKey, deviceKey, certificate.createdAt);
    const id = verifiedId(tbs, certificate.signature);
    if (verified.has(id)) return true;
    if (!ed25519.verify(certificate.signature, tbs, certificate.identityKey, { zip215: false })) return false;
    remember(id);
    return true;
  } catch {
    return false;
  }
}

/**
 * verifyDeviceCertificate through the platform's Ed25519 where it has one (ed25519.ts): the
 * check MLS makes for every leaf of every tree it meets (mls.ts), where the JavaScript path was
 * most of the time to join or add to a large group.
 */
export async function verifyDeviceCertificateAsync(
  certificate: DeviceCertificate,
  deviceKey: Uint8Array,
): Promise<boolean> {
  let tbs: Uint8Array;
  try {
    tbs = certificateTbs(certificate, certificate.identityKey, deviceKey, certificate.createdAt);
  } catch {
    return false;
  }
  const id = verifiedId(tbs, certificate.signature);
  if (verified.has(id)) return true;
  if (!(await ed25519Verify(certificate.identityKey, tbs, certificate.signature))) return false;
  remember(id);
  return true;
}

export function encodeCertificate(certificate: DeviceCertificate): Uint8Array {
  const ref = encodeDeviceRef(certificate);
  if (certificate.signature.length !== SIGNATURE_LENGTH) throw new RangeError("signature must be 64 bytes");
  return concatBytes(
    Uint8Array.of(CERTIFICATE_VERSION),
    ref.subarray(1),
    key32("identityKey", certificate.identityKey),
    u64(certificate.createdAt),
    certificate.signature,
  );
}

/** Decodes a ParleyDeviceCertificate (not its signature: see verifyDeviceCertificate). Throws `invalid_identity`. */
export function decodeCertificate(bytes: Uint8Array): DeviceCertificate {
  if (bytes[0] !== CERTIFICATE_VERSION) throw new ParleyCryptoError("invalid_identity");
  const [userId, next] = readId(bytes, 1);
  const [deviceId, end] = readId(bytes, next);
  if (bytes.length !== end + ED25519_KEY_LENGTH + 8 + SIGNATURE_LENGTH)
    throw new ParleyCryptoError("invalid_identity");
  const identityKey = bytes.slice(end, end + ED25519_KEY_LENGTH);
  const time = new DataView(bytes.buffer, bytes.byteOffset + end + ED25519_KEY_LENGTH, 8).getBigUint64(0);
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParleyCryptoError("invalid_identity");
  const signature = bytes.slice(end + ED25519_KEY_LENGTH + 8);
  return Object.freeze({ userId, deviceId, identityKey, createdAt: Number(time), signature });
}

/**
 * The identity key's statement that a device is removed: signed over "Parley device
 * revocation v1" || 0x00 || ParleyIdentity || identity_key || device_signature_key || revoked_at.
 * The server keeps it for others to check; it cannot make one.
 */
export interface DeviceRevocation extends DeviceRef {
  readonly identityKey: Uint8Array;
  readonly deviceKey: Uint8Array;
  readonly revokedAt: number;
  readonly signature: Uint8Array;
}

function revocationTbs(r: Omit<DeviceRevocation, "signature">): Uint8Array {
  return concatBytes(
    REVOCATION_LABEL,
    encodeDeviceRef(r),
    key32("identityKey", r.identityKey),
    key32("deviceKey", r.deviceKey),
    u64(r.revokedAt),
  );
}

export function signDeviceRevocation(
  identityKey: IdentityKeyPair,
  ref: DeviceRef,
  deviceKey: Uint8Array,
  revokedAt: number,
): DeviceRevocation {
  const body = {
    userId: ref.userId,
    deviceId: ref.deviceId,
    identityKey: Uint8Array.from(identityKey.publicKey),
    deviceKey: Uint8Array.from(deviceKey),
    revokedAt,
  };
  return Object.freeze({ ...body, signature: ed25519.sign(revocationTbs(body), identityKey.privateKey) });
}

export function verifyDeviceRevocation(revocation: DeviceRevocation): boolean {
  try {
    return ed25519.verify(revocation.signature, revocationTbs(revocation), revocation.identityKey);
  } catch {
    return false;
  }
}

const REVOCATION_VERSION = 3;

/**
 * A revocation on the wire (base64 in `device.remove`, `device.removed` and `devices`):
 *
 *   struct {
 *     uint8 version = 3;
 *     opaque account_id<1..255>;   // UTF-8, one length byte, as ParleyIdentity
 *     opaque device_id<1..255>;
 *     opaque identity_key[32];
 *     opaque device_key[32];
 *     uint64 revoked_at;
 *     opaque signature[64];
 *   } ParleyDeviceRevocation;
 */
export function encodeRevocation(revocation: DeviceRevocation): Uint8Array {
  const ref = encodeDeviceRef(revocation);
  if (revocation.signature.length !== SIGNATURE_LENGTH) throw new RangeError("signature must be 64 bytes");
  return concatBytes(
    Uint8Array.of(REVOCATION_VERSION),
    ref.subarray(1),
    key32("identityKey", revocation.identityKey),
    key32("deviceKey", revocation.deviceKey),
    u64(revocation.revokedAt),
    revocation.signature,
  );
}

/** Decodes a ParleyDeviceRevocation (not its signature: see verifyDeviceRevocation). Throws `invalid_identity`. */
export function decodeRevocation(bytes: Uint8Array): DeviceRevocation {
  if (bytes[0] !== REVOCATION_VERSION) throw new ParleyCryptoError("invalid_identity");
  const [userId, next] = readId(bytes, 1);
  const [deviceId, end] = readId(bytes, next);
  if (bytes.length !== end + 2 * ED25519_KEY_LENGTH + 8 + SIGNATURE_LENGTH)
    throw new ParleyCryptoError("invalid_identity");
  const identityKey = bytes.slice(end, end + ED25519_KEY_LENGTH);
  const deviceKey = bytes.slice(end + ED25519_KEY_LENGTH, end + 2 * ED25519_KEY_LENGTH);
  const at = end + 2 * ED25519_KEY_LENGTH;
  const time = new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0);
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParleyCryptoError("invalid_identity");
  const signature = bytes.slice(at + 8);
  return Object.freeze({ userId, deviceId, identityKey, deviceKey, revokedAt: Number(time), signature });
}

/** RFC 9420 §5.3: a BasicCredential whose identity is the device's certificate. */
export function credentialFor(identity: Pick<DeviceIdentity, "certificate">): CredentialBasic {
  return { credentialType: "basic", identity: encodeCertificate(identity.certificate) };
}

/** The certificate a credential carries, decoded but not verified. Throws `invalid_identity`. */
export function certificateFromCredential(credential: Credential): DeviceCertificate {
  if (credential.credentialType !== "basic") throw new ParleyCryptoError("invalid_identity");
  return decodeCertificate(credential.identity);
}

/**
 * The DeviceRef a credential names. Throws ParleyCryptoError `invalid_identity` for anything
 * but a well-formed device certificate (whose signature this does not check).
 */
export function deviceRefFromCredential(credential: Credential): DeviceRef {
  const c = certificateFromCredential(credential);
  return { userId: c.userId, deviceId: c.deviceId };
}

/**
 * Creates a device's signature key pair with the suite's key generation (RFC 9420 §5.1.2) and
 * has `identityKey` certify it. Without an identity key, a fresh one is made (a person's first
 * device, and tests).
 */
export async function generateDeviceIdentity(
  ref: DeviceRef,
  identityKey: IdentityKeyPair = generateIdentityKey(),
  createdAt: number = Date.now(),
): Promise<DeviceIdentity> {
  encodeDeviceRef(ref); // validates the ids before any key is made
  const { signKey, publicKey } = await parleyCiphersuite().signature.keygen();
  return Object.freeze({
    userId: ref.userId,
    deviceId: ref.deviceId,
    signaturePublicKey: publicKey,
    signaturePrivateKey: signKey,
    certificate: signDeviceCertificate(identityKey, ref, publicKey, createdAt),
  });
}

const DEVICE_SECRET_VERSION = 2;

/**
 * Serialises a device identity, private key included, for the client's encrypted store:
 * version(2) || ParleyDeviceCertificate || Ed25519 seed(32). The public key is recomputed on
 * import and the certificate checked against it.
 */
export function exportDeviceIdentity(identity: DeviceIdentity): Uint8Array {
  if (identity.signaturePrivateKey.length !== ED25519_KEY_LENGTH) {
    throw new RangeError(`signaturePrivateKey must be ${ED25519_KEY_LENGTH} bytes`);
  }
  return concatBytes(
    Uint8Array.of(DEVICE_SECRET_VERSION),
    encodeCertificate(identity.certificate),
    identity.signaturePrivateKey,
  );
}

/**
 * Restores what exportDeviceIdentity wrote. Throws ParleyCryptoError `invalid_state`, also for
 * a store written before devices had certificates (version 1): such a device starts anew.
 */
export function importDeviceIdentity(bytes: Uint8Array): DeviceIdentity {
  if (bytes[0] !== DEVICE_SECRET_VERSION || bytes.length <= 1 + ED25519_KEY_LENGTH) {
    throw new ParleyCryptoError("invalid_state");
  }
  let certificate: DeviceCertificate;
  try {
    certificate = decodeCertificate(bytes.subarray(1, bytes.length - ED25519_KEY_LENGTH));
  } catch (cause) {
    throw new ParleyCryptoError("invalid_state", { cause });
  }
  const signaturePrivateKey = bytes.slice(bytes.length - ED25519_KEY_LENGTH);
  const signaturePublicKey = ed25519.getPublicKey(signaturePrivateKey);
  if (!verifyDeviceCertificate(certificate, signaturePublicKey)) throw new ParleyCryptoError("invalid_state");
  return Object.freeze({
    userId: certificate.userId,
    deviceId: certificate.deviceId,
    signaturePublicKey,
    signaturePrivateKey,
    certificate,
  });
}
