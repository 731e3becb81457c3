/**
 * Parley's ts-mls crypto provider for MLS suite 0x0054,
 * MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519: the post-quantum hybrid suite a server runs
 * under `PARLEY_MLS_SUITE=xwing`.
 *
 * Why it exists: ts-mls's own provider reaches X-Wing through @hpke/hybridkem-x-wing and
 * WebCrypto; Parley's provider is pure JavaScript (see provider.ts), so the KEM comes from
 * @noble/post-quantum (hpke-xwing.ts), hashing and HKDF from @noble/hashes (SHA-512), the AEAD
 * from @noble/ciphers (ChaCha20-Poly1305, as in suite 3), and signatures are suite 3's Ed25519.
 *
 * Loaded only on demand (suites.ts imports it dynamically), so a browser on an X25519 server
 * never downloads ML-KEM.
 */
import { sha512 } from "@noble/hashes/sha2.js";
import type { CiphersuiteImpl, CiphersuiteName, Hpke } from "ts-mls";
import { CryptoError } from "ts-mls/mlsError.js";
import {
  deriveXWingKeyPair,
  generateXWingKeyPair,
  XWING_HPKE_KEY_LENGTH,
  XWING_HPKE_NONCE_LENGTH,
  XWING_PUBLIC_KEY_LENGTH,
  XWING_SECRET_KEY_LENGTH,
  xwingOpenBase,
  xwingReceiveExportBase,
  xwingSealBase,
  xwingSendExportBase,
} from "./hpke-xwing.js";
import { makeKeyHandles } from "./key-handles.js";
import { asCryptoError, chachaAead, rng, signature, suiteHash, suiteKdf } from "./provider.js";

export const XWING_CIPHERSUITE: CiphersuiteName = "MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519";
export const XWING_CIPHERSUITE_ID = 0x0054;

const EMPTY = new Uint8Array(0);

/** The suite's Hash and KDF: SHA-512, HMAC-SHA512 and HKDF-SHA512; Nh = 64. */
const hash = suiteHash(sha512);
const kdf = suiteKdf(sha512, 64);

const { toPrivateKey, toPublicKey, privateMaterial, publicMaterial, keyPairFrom } = makeKeyHandles();

/** RFC 9420 §5.1.3 public key encryption: RFC 9180 base mode with X-Wing (hpke-xwing.ts). */
const hpke: Hpke = {
  async seal(publicKey, plaintext, info, aad) {
    return xwingSealBase(publicMaterial(publicKey), info, aad ?? EMPTY, plaintext);
  },
  async open(privateKey, kemOutput, ciphertext, info, aad) {
    try {
      return xwingOpenBase(kemOutput, privateMaterial(privateKey).secretKey, info, aad ?? EMPTY, ciphertext);
    } catch (e) {
      return asCryptoError(e);
    }
  },
  async exportSecret(publicKey, exporterContext, length, info) {
    return xwingSendExportBase(publicMaterial(publicKey), info, exporterContext, length);
  },
  async importSecret(privateKey, exporterContext, kemOutput, length, info) {
    try {
      return xwingReceiveExportBase(
        kemOutput,
        privateMaterial(privateKey).secretKey,
        info,
        exporterContext,
        length,
      );
    } catch (e) {
      return asCryptoError(e);
    }
  },
  /** The private key is the 32-byte seed; decapsulation expands it, so no public key is needed. */
  async importPrivateKey(k) {
    if (k.length !== XWING_SECRET_KEY_LENGTH) throw new CryptoError("invalid X-Wing private key length");
    return toPrivateKey(k.slice(), undefined);
  },
  async importPublicKey(k) {
    if (k.length !== XWING_PUBLIC_KEY_LENGTH) throw new CryptoError("invalid X-Wing public key length");
    return toPublicKey(k.slice());
  },
  async exportPublicKey(k) {
    return publicMaterial(k).slice();
  },
  async exportPrivateKey(k) {
    return privateMaterial(k).secretKey.slice();
  },
  ...chachaAead,
  async deriveKeyPair(ikm) {
    return keyPairFrom(deriveXWingKeyPair(ikm));
  },
  async generateKeyPair() {
    return keyPairFrom(generateXWingKeyPair());
  },
  keyLength: XWING_HPKE_KEY_LENGTH,
  nonceLength: XWING_HPKE_NONCE_LENGTH,
};

const impl: CiphersuiteImpl = Object.freeze({
  hash,
  hpke,
  signature,
  kdf,
  rng,
  name: XWING_CIPHERSUITE,
});

/** The CiphersuiteImpl for suite 0x0054. */
export function xwingCiphersuite(): CiphersuiteImpl {
  return impl;
}
