/**
 * The end-to-end channel that links a new device to a person's identity (docs/SECURITY.md,
 * "Linking a device"): an ephemeral X25519 exchange (RFC 7748) between the new device and an
 * existing one, HKDF-SHA256 (RFC 5869) over the shared secret and a transcript of both public
 * keys and the link id, then XChaCha20-Poly1305 for the one message that carries the identity
 * key. The server relays the public keys and the sealed message; it sees neither secret.
 *
 * The relay is not trusted with the public keys either: both screens show a short
 * authentication string (SAS, six digits) derived from the same HKDF output, so a relay that
 * swapped keys to sit in the middle makes the two numbers differ. When the new device's key
 * comes from its QR code instead of the server, the existing device also compares it directly.
 *
 * All primitives are @noble's; nothing here is home-made beyond the labels and the layout.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { ParleyCryptoError } from "./errors.js";

const LABEL = "Parley device link v1";
const KEY_LENGTH = 32;
const NONCE_LENGTH = 24;
const SAS_DIGITS = 6;

/** One side's ephemeral key pair. */
export interface LinkSecret {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** What both sides derive: the SAS they show, and the key of the sealed message. */
export interface LinkKeys {
  /** Six decimal digits, the same on both screens exactly when neither key was swapped. */
  readonly sas: string;
  readonly key: Uint8Array;
}

export function newLinkSecret(): LinkSecret {
  const privateKey = x25519.utils.randomSecretKey();
  return Object.freeze({ publicKey: x25519.getPublicKey(privateKey), privateKey });
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 255) throw new RangeError("a link field is at most 255 bytes");
  return concatBytes(Uint8Array.of(bytes.length), bytes);
}

/**
 * Derives the SAS and the message key. `newDeviceKey` and `existingDeviceKey` are the two
 * public keys in fixed roles, so both sides hash the same transcript. Throws
 * `authentication_failed` for a peer key that yields the all-zero shared secret (RFC 7748 §6.1).
 */
export function deriveLinkKeys(
  own: LinkSecret,
  peerPublicKey: Uint8Array,
  linkId: string,
  newDeviceKey: Uint8Array,
  existingDeviceKey: Uint8Array,
): LinkKeys {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(own.privateKey, peerPublicKey);
  } catch (cause) {
    throw new ParleyCryptoError("authentication_failed", { cause });
  }
  if (shared.every((b) => b === 0)) throw new ParleyCryptoError("authentication_failed");
  const transcript = sha256(
    concatBytes(
      utf8ToBytes(LABEL),
      lengthPrefixed(utf8ToBytes(linkId)),
      lengthPrefixed(newDeviceKey),
      lengthPrefixed(existingDeviceKey),
    ),
  );
  const okm = hkdf(sha256, shared, transcript, utf8ToBytes(`${LABEL} keys`), KEY_LENGTH + 8);
  shared.fill(0);
  const view = new DataView(okm.buffer, okm.byteOffset + KEY_LENGTH, 8);
  // 2^64 mod 10^6 is a bias below 2^-40: negligible next to the 1e-6 guessing chance.
  const sas = (view.getBigUint64(0) % 10n ** BigInt(SAS_DIGITS)).toString().padStart(SAS_DIGITS, "0");
  return Object.freeze({ sas, key: okm.slice(0, KEY_LENGTH) });
}

/** nonce(24) || XChaCha20-Poly1305(key, nonce, plaintext, aad = link id). */
export function sealLinkPayload(key: Uint8Array, linkId: string, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_LENGTH);
  return concatBytes(nonce, xchacha20poly1305(key, nonce, utf8ToBytes(linkId)).encrypt(plaintext));
}

/** Opens what sealLinkPayload made. Throws `authentication_failed` for anything else. */
export function openLinkPayload(key: Uint8Array, linkId: string, sealed: Uint8Array): Uint8Array {
  if (sealed.length < NONCE_LENGTH + 16) throw new ParleyCryptoError("authentication_failed");
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE_LENGTH), utf8ToBytes(linkId)).decrypt(
      sealed.subarray(NONCE_LENGTH),
    );
  } catch (cause) {
    throw new ParleyCryptoError("authentication_failed", { cause });
  }
}
