/**
 * Device identity: one Ed25519 signature key pair per device (RFC 9420 §5.1.2), and the MLS
 * credential that names the device. The server, acting as MLS Authentication Service
 * (RFC 9420 §5.3.1, RFC 9750 §5), binds the signature key to the account; clients pin it.
 *
 * Credential encoding (the `identity` of a BasicCredential, RFC 9420 §5.3):
 *
 *   struct {
 *     uint8 version = 1;
 *     opaque account_id<1..255>;   // UTF-8, one length byte
 *     opaque device_id<1..255>;    // UTF-8, one length byte
 *   } ParleyIdentity;
 *
 * Length prefixes make it unambiguous (no separator can be smuggled inside an id), and decoding
 * accepts exactly one byte string per pair of ids: canonical UTF-8, no trailing bytes, no
 * control characters.
 */
import { bytesToUtf8, equalBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import type { Credential, CredentialBasic } from "ts-mls";
import { ParleyCryptoError } from "./errors.js";
import { parleyCiphersuite } from "./provider.js";

/** Which device of which account: what a credential names. */
export interface DeviceRef {
  readonly accountId: string;
  readonly deviceId: string;
}

/** A device's long-term signing identity. `signaturePrivateKey` is the 32-byte Ed25519 seed. */
export interface DeviceIdentity extends DeviceRef {
  readonly signaturePublicKey: Uint8Array;
  readonly signaturePrivateKey: Uint8Array;
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
  const account = idBytes("accountId", ref.accountId);
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
  const [accountId, next] = readId(bytes, 1);
  const [deviceId, end] = readId(bytes, next);
  if (end !== bytes.length) throw new ParleyCryptoError("invalid_identity");
  return { accountId, deviceId };
}

/** RFC 9420 §5.3: a BasicCredential whose identity is the encoded DeviceRef. */
export function credentialFor(ref: DeviceRef): CredentialBasic {
  return { credentialType: "basic", identity: encodeDeviceRef(ref) };
}

/** The DeviceRef a credential names. Throws ParleyCryptoError `invalid_identity` for anything else. */
export function deviceRefFromCredential(credential: Credential): DeviceRef {
  if (credential.credentialType !== "basic") throw new ParleyCryptoError("invalid_identity");
  return decodeDeviceRef(credential.identity);
}

/** Creates a device's signature key pair with the suite's key generation (RFC 9420 §5.1.2). */
export async function generateDeviceIdentity(ref: DeviceRef): Promise<DeviceIdentity> {
  encodeDeviceRef(ref); // validates the ids before any key is made
  const { signKey, publicKey } = await parleyCiphersuite().signature.keygen();
  return Object.freeze({
    accountId: ref.accountId,
    deviceId: ref.deviceId,
    signaturePublicKey: publicKey,
    signaturePrivateKey: signKey,
  });
}

const DEVICE_SECRET_VERSION = 1;

/**
 * Serialises a device identity, private key included, for the client's encrypted store:
 * version(1) || ParleyIdentity || Ed25519 seed(32). The public key is recomputed on import.
 */
export function exportDeviceIdentity(identity: DeviceIdentity): Uint8Array {
  if (identity.signaturePrivateKey.length !== ED25519_KEY_LENGTH) {
    throw new RangeError(`signaturePrivateKey must be ${ED25519_KEY_LENGTH} bytes`);
  }
  const ref = encodeDeviceRef(identity);
  const out = new Uint8Array(1 + ref.length + ED25519_KEY_LENGTH);
  out[0] = DEVICE_SECRET_VERSION;
  out.set(ref, 1);
  out.set(identity.signaturePrivateKey, 1 + ref.length);
  return out;
}

/** Restores what exportDeviceIdentity wrote. Throws ParleyCryptoError `invalid_state`. */
export function importDeviceIdentity(bytes: Uint8Array): DeviceIdentity {
  if (bytes[0] !== DEVICE_SECRET_VERSION || bytes.length <= 1 + ED25519_KEY_LENGTH) {
    throw new ParleyCryptoError("invalid_state");
  }
  let ref: DeviceRef;
  try {
    ref = decodeDeviceRef(bytes.subarray(1, bytes.length - ED25519_KEY_LENGTH));
  } catch (cause) {
    throw new ParleyCryptoError("invalid_state", { cause });
  }
  const signaturePrivateKey = bytes.slice(bytes.length - ED25519_KEY_LENGTH);
  return Object.freeze({
    accountId: ref.accountId,
    deviceId: ref.deviceId,
    signaturePublicKey: ed25519.getPublicKey(signaturePrivateKey),
    signaturePrivateKey,
  });
}

/** Same account and same device. */
export function sameDevice(a: DeviceRef, b: DeviceRef): boolean {
  return a.accountId === b.accountId && a.deviceId === b.deviceId;
}
