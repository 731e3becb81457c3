/**
 * Safety numbers: what two users compare (read aloud, or by scanning a QR code) to be sure the
 * server handed each of them the other's real identity keys (DESIGN.md, "identity").
 *
 * The construction is Signal's NumericFingerprintGenerator (libsignal,
 * org.signal.libsignal.protocol.fingerprint.NumericFingerprintGenerator), version 0:
 *
 *   hash_0     = I2OSP(version, 2) || key_bytes || stable_id
 *   hash_{i+1} = SHA-512(hash_i || key_bytes)          for i in 0 .. 5199
 *   display    = six 5-digit chunks: for offset 0, 5, .., 25,
 *                (hash[offset .. offset+5] as a 40-bit big-endian integer) mod 100000
 *
 * Parley's inputs: `stable_id` is the account id in UTF-8; `key_bytes` is the concatenation of
 * the user's device Ed25519 identity keys, sorted bytewise (Signal's getLogicalKeyBytes sorts
 * a list of identity keys the same way), so a user with several devices has one fingerprint
 * that changes when any device key is added, removed or replaced.
 *
 * One difference from Signal: the two 30-digit halves are ordered by account id (bytewise
 * UTF-8), not by comparing the halves, so each user's half keeps its place; either rule makes
 * the number the same for both sides (A,B == B,A).
 *
 * The QR payload is version(1) || first 32 bytes of each user's final hash, in the same order,
 * like Signal's scannable fingerprint; both sides compute identical bytes, so comparing a
 * scanned payload is a plain constant-time equality.
 */
import { utf8ToBytes } from "@noble/ciphers/utils.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { bytesToBase64 } from "ts-mls/util/byteArray.js";

const FINGERPRINT_VERSION = 0;
const ITERATIONS = 5200;
const CHUNKS_PER_USER = 6;
const QR_VERSION = 1;
const QR_FINGERPRINT_BYTES = 32;
const IDENTITY_KEY_LENGTH = 32;

/** One side of the comparison: an account and the identity keys of all its devices. */
export interface SafetyNumberParty {
  readonly userId: string;
  readonly identityKeys: readonly Uint8Array[];
}

export interface SafetyNumber {
  /** 60 decimal digits. */
  readonly digits: string;
  /** The same digits as 12 groups of 5, for display. */
  readonly groups: readonly string[];
  /** Versioned bytes to put in a QR code; `qrPayloadBase64` is the same, as text. */
  readonly qrPayload: Uint8Array;
  readonly qrPayloadBase64: string;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function logicalKeyBytes(keys: readonly Uint8Array[]): Uint8Array {
  if (keys.length === 0) throw new RangeError("a party needs at least one identity key");
  for (const k of keys) {
    if (!(k instanceof Uint8Array) || k.length !== IDENTITY_KEY_LENGTH) {
      throw new RangeError(`identity keys are ${IDENTITY_KEY_LENGTH}-byte Ed25519 public keys`);
    }
  }
  const sorted = [...keys].sort(compareBytes);
  for (let i = 1; i < sorted.length; i++) {
    if (compareBytes(sorted[i - 1]!, sorted[i]!) === 0)
      throw new RangeError("identity keys must be distinct");
  }
  return concatBytes(...sorted);
}

/** The iterated SHA-512 of one user (64 bytes), as described at the top of this file. */
export function userFingerprint(party: SafetyNumberParty): Uint8Array {
  if (typeof party.userId !== "string" || party.userId.length === 0) {
    throw new RangeError("userId must be a non-empty string");
  }
  const keyBytes = logicalKeyBytes(party.identityKeys);
  let hash = concatBytes(
    Uint8Array.of(FINGERPRINT_VERSION >> 8, FINGERPRINT_VERSION & 0xff),
    keyBytes,
    utf8ToBytes(party.userId),
  );
  for (let i = 0; i < ITERATIONS; i++) hash = sha512(concatBytes(hash, keyBytes));
  return hash;
}

/** Signal's getEncodedChunk: 5 bytes big-endian, mod 100000, zero-padded to 5 digits. */
function displayChunks(hash: Uint8Array): string[] {
  const out: string[] = [];
  for (let c = 0; c < CHUNKS_PER_USER; c++) {
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 256 + hash[c * 5 + i]!;
    out.push((value % 100000).toString().padStart(5, "0"));
  }
  return out;
}

/** The safety number of two users; the same whichever order they are given in. */
export function computeSafetyNumber(a: SafetyNumberParty, b: SafetyNumberParty): SafetyNumber {
  const order = compareBytes(utf8ToBytes(a.userId), utf8ToBytes(b.userId));
  if (order === 0) throw new RangeError("a safety number needs two different users");
  const [first, second] = order < 0 ? [a, b] : [b, a];
  const h1 = userFingerprint(first);
  const h2 = userFingerprint(second);
  const groups = [...displayChunks(h1), ...displayChunks(h2)];
  const qrPayload = concatBytes(
    Uint8Array.of(QR_VERSION),
    h1.subarray(0, QR_FINGERPRINT_BYTES),
    h2.subarray(0, QR_FINGERPRINT_BYTES),
  );
  return Object.freeze({
    digits: groups.join(""),
    groups: Object.freeze(groups),
    qrPayload,
    qrPayloadBase64: bytesToBase64(qrPayload),
  });
}
