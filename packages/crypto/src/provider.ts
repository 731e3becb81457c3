/**
 * Parley's ts-mls crypto provider: MLS cipher suite 3,
 * MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 (RFC 9420 §17.1), built only on
 * @noble/curves, @noble/ciphers and @noble/hashes.
 *
 * Why it exists: ts-mls's own providers reach WebCrypto, directly (SHA-256, HMAC, Ed25519
 * when `crypto.subtle` exists) or through @hpke/core (HKDF, X25519, HPKE). Parley has to run
 * in any browser context, including pages where `crypto.subtle` is missing, so every
 * operation here has a noble implementation. Ed25519 and X25519 use WebCrypto where the
 * platform has them (ed25519.ts: Ed25519 was three quarters of a message's decryption, X25519
 * half of a Commit adding many members); the rest stays on noble,
 * which is faster than a WebCrypto round trip for the few dozen bytes MLS hashes at a time.
 * The only platform dependency left is `crypto.getRandomValues`, through @noble/hashes'
 * randomBytes.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { equalBytes } from "@noble/ciphers/utils.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { type CHash, randomBytes } from "@noble/hashes/utils.js";
import type { CiphersuiteImpl, CiphersuiteName, Hash, Hpke, Kdf, PrivateKey, Rng, Signature } from "ts-mls";
import { CryptoError } from "ts-mls/mlsError.js";
import { ed25519Sign, ed25519Verify } from "./ed25519.js";
import {
  clampX25519,
  deriveKeyPair,
  generateKeyPair,
  HPKE_KEY_LENGTH,
  HPKE_NONCE_LENGTH,
  HpkeError,
  openBaseAsync,
  receiveExportBaseAsync,
  sealBaseAsync,
  sendExportBaseAsync,
  x25519PublicKey,
} from "./hpke.js";
import { makeKeyHandles } from "./key-handles.js";

/** The default cipher suite (RFC 9420 §17.1, value 0x0003); suites.ts lists all Parley runs. */
export const PARLEY_CIPHERSUITE: CiphersuiteName = "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519";
export const PARLEY_CIPHERSUITE_ID = 3;

const ED25519_SECRET_KEY_LENGTH = 32;
const X25519_KEY_LENGTH = 32;
const EMPTY = new Uint8Array(0);

/** RFC 9420 §5.1: a suite's Hash and MAC (HMAC) over one hash function. */
export function suiteHash(fn: CHash): Hash {
  return {
    async digest(data) {
      return fn(data);
    },
    async mac(key, data) {
      return hmac(fn, key, data);
    },
    async verifyMac(key, mac, data) {
      const expected = hmac(fn, key, data);
      // noble's equalBytes compares in constant time for equal lengths.
      return mac.length === expected.length && equalBytes(mac, expected);
    },
  };
}

/** RFC 9420 §5.1: a suite's KDF, HKDF (RFC 5869) over its hash; `size` is Nh. */
export function suiteKdf(fn: CHash, size: number): Kdf {
  return {
    async extract(salt, ikm) {
      return extract(fn, ikm, salt);
    },
    async expand(prk, info, length) {
      return expand(fn, prk, info, length);
    },
    size,
  };
}

/** The AEAD of suites 3 and 0x0054: ChaCha20Poly1305 (RFC 8439); a failed open is ts-mls's CryptoError. */
export const chachaAead: Pick<Hpke, "encryptAead" | "decryptAead"> = {
  async encryptAead(key, nonce, aad, plaintext) {
    return chacha20poly1305(key, nonce, aad ?? EMPTY).encrypt(plaintext);
  },
  async decryptAead(key, nonce, aad, ciphertext) {
    try {
      return chacha20poly1305(key, nonce, aad ?? EMPTY).decrypt(ciphertext);
    } catch {
      throw new CryptoError("AEAD authentication failed");
    }
  },
};

/** Suite 3's Hash and KDF: SHA-256, HKDF-SHA256, Nh = 32. */
const hash = suiteHash(sha256);
const kdf = suiteKdf(sha256, 32);

/**
 * RFC 9420 §5.1.2: Ed25519 (RFC 8032). The signing key is the 32-byte seed. Verification uses
 * RFC 8032's strict rules, which reject non-canonical encodings, so a signature has exactly one
 * valid byte form. WebCrypto's native Ed25519 where the platform has it, @noble otherwise
 * (ed25519.ts).
 */
export const signature: Signature = {
  async sign(signKey, message) {
    if (signKey.length !== ED25519_SECRET_KEY_LENGTH) {
      throw new RangeError(`an Ed25519 signing key is ${ED25519_SECRET_KEY_LENGTH} bytes`);
    }
    return ed25519Sign(signKey, message);
  },
  async verify(publicKey, message, sig) {
    return ed25519Verify(publicKey, message, sig);
  },
  async keygen() {
    const signKey = ed25519.utils.randomSecretKey();
    return { signKey, publicKey: ed25519.getPublicKey(signKey) };
  },
};

export const rng: Rng = {
  randomBytes(n) {
    return randomBytes(n);
  },
};

const { toPrivateKey, toPublicKey, privateMaterial, publicMaterial, keyPairFrom } = makeKeyHandles();

/** X25519 private keys always carry their public key (DHKEM's kem_context needs it). */
function x25519Material(key: PrivateKey): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const { secretKey, publicKey } = privateMaterial(key);
  if (publicKey === undefined) throw new TypeError("X25519 private key without its public key");
  return { secretKey, publicKey };
}

/**
 * ts-mls expects failures on the receiving side as its CryptoError, which it surfaces to the
 * caller; the cause is never more specific than "it did not authenticate".
 */
export function asCryptoError(e: unknown): never {
  if (e instanceof HpkeError) throw new CryptoError("HPKE open failed");
  throw e;
}

/**
 * RFC 9420 §5.1.3 public key encryption, RFC 9180 base mode with DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256 and ChaCha20Poly1305 (see hpke.ts).
 */
const hpke: Hpke = {
  async seal(publicKey, plaintext, info, aad) {
    return sealBaseAsync(publicMaterial(publicKey), info, aad ?? EMPTY, plaintext);
  },
  async open(privateKey, kemOutput, ciphertext, info, aad) {
    const { secretKey, publicKey } = x25519Material(privateKey);
    try {
      return await openBaseAsync(kemOutput, secretKey, publicKey, info, aad ?? EMPTY, ciphertext);
    } catch (e) {
      return asCryptoError(e);
    }
  },
  async exportSecret(publicKey, exporterContext, length, info) {
    return sendExportBaseAsync(publicMaterial(publicKey), info, exporterContext, length);
  },
  async importSecret(privateKey, exporterContext, kemOutput, length, info) {
    const { secretKey, publicKey } = x25519Material(privateKey);
    try {
      return await receiveExportBaseAsync(kemOutput, secretKey, publicKey, info, exporterContext, length);
    } catch (e) {
      return asCryptoError(e);
    }
  },
  /** RFC 9180 §7.1.2: DeserializePrivateKey clamps its input for X25519. */
  async importPrivateKey(k) {
    if (k.length !== X25519_KEY_LENGTH) throw new CryptoError("invalid X25519 private key length");
    const secretKey = clampX25519(k);
    return toPrivateKey(secretKey, x25519PublicKey(secretKey));
  },
  async importPublicKey(k) {
    if (k.length !== X25519_KEY_LENGTH) throw new CryptoError("invalid X25519 public key length");
    return toPublicKey(k.slice());
  },
  async exportPublicKey(k) {
    return publicMaterial(k).slice();
  },
  /** RFC 9180 §7.1.2: SerializePrivateKey clamps its output for X25519. */
  async exportPrivateKey(k) {
    return clampX25519(privateMaterial(k).secretKey);
  },
  ...chachaAead,
  async deriveKeyPair(ikm) {
    return keyPairFrom(deriveKeyPair(ikm));
  },
  async generateKeyPair() {
    return keyPairFrom(generateKeyPair());
  },
  keyLength: HPKE_KEY_LENGTH,
  nonceLength: HPKE_NONCE_LENGTH,
};

const impl: CiphersuiteImpl = Object.freeze({
  hash,
  hpke,
  signature,
  kdf,
  rng,
  name: PARLEY_CIPHERSUITE,
});

/** The CiphersuiteImpl for suite 3, the default suite (suites.ts picks per group). */
export function parleyCiphersuite(): CiphersuiteImpl {
  return impl;
}
