/**
 * HPKE (RFC 9180) base mode for the HPKE of MLS suite 0x0054
 * (MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519): KEM X-Wing (kem_id 0x647a), HKDF-SHA512
 * (kdf_id 0x0003), ChaCha20-Poly1305 (aead_id 0x0003).
 *
 * The KEM is @noble/post-quantum's `XWing` (draft-connolly-cfrg-xwing-kem: ML-KEM-768 of
 * FIPS 203 and X25519 of RFC 7748, combined with SHA3-256); nothing here computes any part of
 * it. This file only binds that KEM into RFC 9180's key schedule, as the draft's "Use in HPKE"
 * section says: Encap and Decap are the KEM's own, enc is its 1120-byte ciphertext, the
 * private key is the 32-byte seed, and DeriveKeyPair(ikm) takes the seed as SHAKE256(ikm, 32).
 * The key schedule is RFC 9180 §5.1 step by step, as in hpke.ts but over HKDF-SHA512 (Nh = 64).
 * Only single-shot use is needed by MLS (RFC 9420 §5.1.3), so the sequence number is always 0.
 *
 * Secrets (shared secret, PRKs, key schedule outputs) are wiped with fill(0) once consumed.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { shake256 } from "@noble/hashes/sha3.js";
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { XWing } from "@noble/post-quantum/hybrid.js";
import { HpkeError } from "./hpke.js";

const KEM_ID = 0x647a;
const KDF_ID = 0x0003;
const AEAD_ID = 0x0003;
const MODE_BASE = 0x00;

/** draft-connolly-cfrg-xwing-kem, "Use in HPKE": Nsecret, Nenc, Npk, Nsk. */
export const XWING_SECRET_LENGTH = 32;
export const XWING_ENC_LENGTH = 1120;
export const XWING_PUBLIC_KEY_LENGTH = 1216;
export const XWING_SECRET_KEY_LENGTH = 32;
/** Bytes of randomness one encapsulation draws (ML-KEM's m, then X25519's ephemeral key). */
export const XWING_ENCAPSULATION_SEED_LENGTH = 64;
/** RFC 9180 §7.2: Nh for HKDF-SHA512. */
const N_H = 64;
/** RFC 9180 §7.3: Nk, Nn for ChaCha20Poly1305. */
export const XWING_HPKE_KEY_LENGTH = 32;
export const XWING_HPKE_NONCE_LENGTH = 12;

const EMPTY = new Uint8Array(0);
const HPKE_V1 = utf8ToBytes("HPKE-v1");

function i2osp2(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 0xff, value & 0xff);
}

/** RFC 9180 §5.1: suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2)). */
const HPKE_SUITE_ID = concatBytes(utf8ToBytes("HPKE"), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(AEAD_ID));

/** RFC 9180 §4 LabeledExtract over HKDF-SHA512. */
function labeledExtract(salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  const labeledIkm = concatBytes(HPKE_V1, HPKE_SUITE_ID, utf8ToBytes(label), ikm);
  try {
    return extract(sha512, labeledIkm, salt);
  } finally {
    labeledIkm.fill(0);
  }
}

/** RFC 9180 §4 LabeledExpand over HKDF-SHA512. */
function labeledExpand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * N_H) {
    throw new RangeError(`HPKE expand length must be an integer in 0..${255 * N_H}`);
  }
  const labeledInfo = concatBytes(i2osp2(length), HPKE_V1, HPKE_SUITE_ID, utf8ToBytes(label), info);
  return expand(sha512, prk, labeledInfo, length);
}

export interface XWingKeyPair {
  /** The 32-byte decapsulation seed (the draft's sk). */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** The draft's GenerateKeyPair: a random 32-byte seed, expanded by the KEM. */
export function generateXWingKeyPair(): XWingKeyPair {
  const { secretKey, publicKey } = XWing.keygen();
  return { secretKey, publicKey };
}

/** The draft's "Use in HPKE": DeriveKeyPair(ikm) = GenerateKeyPairDerand(SHAKE256(ikm, 32)). */
export function deriveXWingKeyPair(ikm: Uint8Array): XWingKeyPair {
  const seed = shake256(ikm, { dkLen: XWING_SECRET_KEY_LENGTH });
  return { secretKey: seed, publicKey: XWing.getPublicKey(seed) };
}

export function xwingPublicKey(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== XWING_SECRET_KEY_LENGTH) {
    throw new RangeError(`an X-Wing private key is ${XWING_SECRET_KEY_LENGTH} bytes`);
  }
  return XWing.getPublicKey(secretKey);
}

function encap(pkR: Uint8Array, seed: Uint8Array | undefined): { sharedSecret: Uint8Array; enc: Uint8Array } {
  if (pkR.length !== XWING_PUBLIC_KEY_LENGTH) {
    throw new RangeError(`an X-Wing public key is ${XWING_PUBLIC_KEY_LENGTH} bytes`);
  }
  // ML-KEM's encapsulation-key check (FIPS 203 §7.2) throws on a malformed key: not ours to mask.
  const { sharedSecret, cipherText } =
    seed === undefined ? XWing.encapsulate(pkR) : XWing.encapsulate(pkR, seed);
  return { sharedSecret, enc: cipherText };
}

function decap(enc: Uint8Array, skR: Uint8Array): Uint8Array {
  if (enc.length !== XWING_ENC_LENGTH || skR.length !== XWING_SECRET_KEY_LENGTH) throw new HpkeError();
  try {
    return XWing.decapsulate(enc, skR);
  } catch {
    // X25519 refuses a low-order point; ML-KEM itself rejects implicitly (FIPS 203 §6.3).
    throw new HpkeError();
  }
}

interface ContextSecrets {
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

/** RFC 9180 §5.1 KeySchedule for mode_base (psk = psk_id = ""). Wipes shared_secret. */
function keyScheduleBase(sharedSecret: Uint8Array, info: Uint8Array): ContextSecrets {
  const pskIdHash = labeledExtract(EMPTY, "psk_id_hash", EMPTY);
  const infoHash = labeledExtract(EMPTY, "info_hash", info);
  const keyScheduleContext = concatBytes(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(sharedSecret, "secret", EMPTY);
  sharedSecret.fill(0);
  const key = labeledExpand(secret, "key", keyScheduleContext, XWING_HPKE_KEY_LENGTH);
  const baseNonce = labeledExpand(secret, "base_nonce", keyScheduleContext, XWING_HPKE_NONCE_LENGTH);
  const exporterSecret = labeledExpand(secret, "exp", keyScheduleContext, N_H);
  secret.fill(0);
  return { key, baseNonce, exporterSecret };
}

function wipe(ctx: ContextSecrets): void {
  ctx.key.fill(0);
  ctx.baseNonce.fill(0);
  ctx.exporterSecret.fill(0);
}

/** RFC 9180 §5.3 Context.Export. */
function exportFrom(ctx: ContextSecrets, exporterContext: Uint8Array, length: number): Uint8Array {
  return labeledExpand(ctx.exporterSecret, "sec", exporterContext, length);
}

/**
 * RFC 9180 §6.1 SealBase(pkR, info, aad, pt) -> (enc, ct). `encapsulationSeed` (64 bytes) fixes
 * the KEM's randomness, for known-answer tests only; omit it everywhere else.
 */
export function xwingSealBase(
  pkR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  encapsulationSeed?: Uint8Array,
): { enc: Uint8Array; ct: Uint8Array } {
  const { sharedSecret, enc } = encap(pkR, encapsulationSeed);
  const ctx = keyScheduleBase(sharedSecret, info);
  try {
    // RFC 9180 §5.2: the nonce for sequence number 0 is base_nonce itself.
    return { enc, ct: chacha20poly1305(ctx.key, ctx.baseNonce, aad).encrypt(plaintext) };
  } finally {
    wipe(ctx);
  }
}

/** RFC 9180 §6.1 OpenBase(enc, skR, info, aad, ct) -> pt. Throws HpkeError on any failure. */
export function xwingOpenBase(
  enc: Uint8Array,
  skR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  const ctx = keyScheduleBase(decap(enc, skR), info);
  try {
    return chacha20poly1305(ctx.key, ctx.baseNonce, aad).decrypt(ciphertext);
  } catch {
    throw new HpkeError();
  } finally {
    wipe(ctx);
  }
}

/** RFC 9180 §6.2 SendExportBase(pkR, info, exporter_context, L) -> (enc, exported). */
export function xwingSendExportBase(
  pkR: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
): { enc: Uint8Array; secret: Uint8Array } {
  const { sharedSecret, enc } = encap(pkR, undefined);
  const ctx = keyScheduleBase(sharedSecret, info);
  try {
    return { enc, secret: exportFrom(ctx, exporterContext, length) };
  } finally {
    wipe(ctx);
  }
}

/** RFC 9180 §6.2 ReceiveExportBase(enc, skR, info, exporter_context, L). */
export function xwingReceiveExportBase(
  enc: Uint8Array,
  skR: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
): Uint8Array {
  const ctx = keyScheduleBase(decap(enc, skR), info);
  try {
    return exportFrom(ctx, exporterContext, length);
  } finally {
    wipe(ctx);
  }
}
