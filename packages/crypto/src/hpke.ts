/**
 * HPKE (RFC 9180) base mode for exactly one suite: DHKEM(X25519, HKDF-SHA256) (kem_id 0x0020),
 * HKDF-SHA256 (kdf_id 0x0001), ChaCha20-Poly1305 (aead_id 0x0003). That is the HPKE of MLS
 * cipher suite 3 (RFC 9420 §17.1).
 *
 * Why it exists: ts-mls builds HPKE on `@hpke/core`, which needs WebCrypto (`crypto.subtle`).
 * Parley must run in pages that lack it, so this module composes the same RFC from @noble
 * primitives. Nothing here is a new primitive: X25519 is RFC 7748, HKDF is RFC 5869, the AEAD
 * is RFC 8439; this file only follows RFC 9180's labelled extract/expand, DHKEM and key
 * schedule, step by step. Only single-shot use is needed by MLS (RFC 9420 §5.1.3: one
 * Seal/Open or one Export per context), so the sequence number is always 0.
 *
 * Intermediate secrets (DH output, PRKs, shared secret, key schedule outputs) are wiped with
 * fill(0) as soon as they are consumed.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { nativeX25519Ops } from "./ed25519.js";

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const MODE_BASE = 0x00;

/** RFC 9180 §7.1: Nsecret, Nenc, Npk, Nsk for DHKEM(X25519, HKDF-SHA256). */
const N_SECRET = 32;
const N_PK = 32;
const N_SK = 32;
/** RFC 9180 §7.2: Nh for HKDF-SHA256. */
const N_H = 32;
/** RFC 9180 §7.3: Nk, Nn for ChaCha20Poly1305. */
export const HPKE_KEY_LENGTH = 32;
export const HPKE_NONCE_LENGTH = 12;

const EMPTY = new Uint8Array(0);
const HPKE_V1 = utf8ToBytes("HPKE-v1");

/** RFC 9180 §4 (I2OSP). */
function i2osp(value: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  return out;
}

/** RFC 9180 §4.1: suite_id = concat("KEM", I2OSP(kem_id, 2)) inside the KEM. */
const KEM_SUITE_ID = concatBytes(utf8ToBytes("KEM"), i2osp(KEM_ID, 2));
/** RFC 9180 §5.1: suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2)). */
const HPKE_SUITE_ID = concatBytes(utf8ToBytes("HPKE"), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2));

/** RFC 9180 §4: LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
function labeledExtract(suiteId: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  const labeledIkm = concatBytes(HPKE_V1, suiteId, utf8ToBytes(label), ikm);
  try {
    return extract(sha256, labeledIkm, salt);
  } finally {
    labeledIkm.fill(0);
  }
}

/**
 * RFC 9180 §4: LabeledExpand(prk, label, info, L) =
 * Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
 */
function labeledExpand(
  suiteId: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Uint8Array {
  // RFC 9180 §4: L must fit in two bytes; HKDF itself caps it at 255 * Nh (RFC 5869 §2.3).
  if (!Number.isInteger(length) || length < 0 || length > 255 * N_H) {
    throw new RangeError(`HPKE expand length must be an integer in 0..${255 * N_H}`);
  }
  const labeledInfo = concatBytes(i2osp(length, 2), HPKE_V1, suiteId, utf8ToBytes(label), info);
  return expand(sha256, prk, labeledInfo, length);
}

/** RFC 7748 §5 decodeScalar25519 clamping, applied per RFC 9180 §7.1.2 on (de)serialisation. */
export function clampX25519(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== N_SK) throw new RangeError(`an X25519 private key is ${N_SK} bytes`);
  const k = secretKey.slice();
  k[0] = k[0]! & 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
}

export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

export interface X25519KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * RFC 9180 §7.1.3 DeriveKeyPair for X25519:
 *   dkp_prk = LabeledExtract("", "dkp_prk", ikm); sk = LabeledExpand(dkp_prk, "sk", "", Nsk).
 */
export function deriveKeyPair(ikm: Uint8Array): X25519KeyPair {
  const dkpPrk = labeledExtract(KEM_SUITE_ID, EMPTY, "dkp_prk", ikm);
  const secretKey = labeledExpand(KEM_SUITE_ID, dkpPrk, "sk", EMPTY, N_SK);
  dkpPrk.fill(0);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** RFC 9180 §4 GenerateKeyPair: an X25519 private key is 32 uniformly random bytes (RFC 7748 §6.1). */
export function generateKeyPair(): X25519KeyPair {
  const secretKey = randomBytes(N_SK);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** Raised for every HPKE failure (bad key, low-order point, failed authentication); deliberately opaque. */
export class HpkeError extends Error {
  constructor() {
    super("HPKE operation failed");
    this.name = "HpkeError";
  }
}

/** RFC 9180 §4.1 DH, with the §7.1.4 all-zero output check for X25519. */
function dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== N_PK) throw new HpkeError();
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    throw new HpkeError();
  }
  return nonZero(shared);
}

function nonZero(shared: Uint8Array): Uint8Array {
  let acc = 0;
  for (const b of shared) acc |= b;
  if (acc === 0) throw new HpkeError();
  return shared;
}

/**
 * Encap with a fresh ephemeral key: the X25519 steps in WebCrypto where it is native (about half
 * the CPU of @noble's, which a Commit adding many members pays once per newcomer), else @noble.
 */
async function encapFresh(pkR: Uint8Array): Promise<{ sharedSecret: Uint8Array; enc: Uint8Array }> {
  const native = await nativeX25519Ops();
  if (native === null) return encap(pkR, generateKeyPair());
  let ephemeral: { enc: Uint8Array; shared: Uint8Array };
  try {
    ephemeral = await native.ephemeral(pkR);
  } catch {
    throw new HpkeError();
  }
  const dhOutput = nonZero(ephemeral.shared);
  const sharedSecret = extractAndExpand(dhOutput, concatBytes(ephemeral.enc, pkR));
  dhOutput.fill(0);
  return { sharedSecret, enc: ephemeral.enc };
}

/** Decap, native where X25519 is (see encapFresh). */
async function decapAsync(enc: Uint8Array, skR: Uint8Array, pkR: Uint8Array): Promise<Uint8Array> {
  const native = await nativeX25519Ops();
  if (native === null) return decap(enc, skR, pkR);
  if (enc.length !== N_PK) throw new HpkeError();
  let dhOutput: Uint8Array;
  try {
    dhOutput = await native.dh(skR, enc);
  } catch {
    throw new HpkeError();
  }
  nonZero(dhOutput);
  const sharedSecret = extractAndExpand(dhOutput, concatBytes(enc, pkR));
  dhOutput.fill(0);
  return sharedSecret;
}

/** RFC 9180 §4.1 ExtractAndExpand(dh, kem_context). */
function extractAndExpand(dhOutput: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const eaePrk = labeledExtract(KEM_SUITE_ID, EMPTY, "eae_prk", dhOutput);
  const sharedSecret = labeledExpand(KEM_SUITE_ID, eaePrk, "shared_secret", kemContext, N_SECRET);
  eaePrk.fill(0);
  return sharedSecret;
}

/** RFC 9180 §4.1 Encap(pkR), with the ephemeral key pair supplied by the caller. */
function encap(pkR: Uint8Array, ephemeral: X25519KeyPair): { sharedSecret: Uint8Array; enc: Uint8Array } {
  const dhOutput = dh(ephemeral.secretKey, pkR);
  const enc = ephemeral.publicKey.slice();
  const kemContext = concatBytes(enc, pkR);
  const sharedSecret = extractAndExpand(dhOutput, kemContext);
  dhOutput.fill(0);
  ephemeral.secretKey.fill(0);
  return { sharedSecret, enc };
}

/** RFC 9180 §4.1 Decap(enc, skR). */
function decap(enc: Uint8Array, skR: Uint8Array, pkR: Uint8Array): Uint8Array {
  const dhOutput = dh(skR, enc);
  const kemContext = concatBytes(enc, pkR);
  const sharedSecret = extractAndExpand(dhOutput, kemContext);
  dhOutput.fill(0);
  return sharedSecret;
}

interface ContextSecrets {
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

/** RFC 9180 §5.1 KeySchedule for mode_base (psk = psk_id = ""). Wipes shared_secret. */
function keyScheduleBase(sharedSecret: Uint8Array, info: Uint8Array): ContextSecrets {
  const pskIdHash = labeledExtract(HPKE_SUITE_ID, EMPTY, "psk_id_hash", EMPTY);
  const infoHash = labeledExtract(HPKE_SUITE_ID, EMPTY, "info_hash", info);
  const keyScheduleContext = concatBytes(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE_ID, sharedSecret, "secret", EMPTY);
  sharedSecret.fill(0);
  const key = labeledExpand(HPKE_SUITE_ID, secret, "key", keyScheduleContext, HPKE_KEY_LENGTH);
  const baseNonce = labeledExpand(HPKE_SUITE_ID, secret, "base_nonce", keyScheduleContext, HPKE_NONCE_LENGTH);
  const exporterSecret = labeledExpand(HPKE_SUITE_ID, secret, "exp", keyScheduleContext, N_H);
  secret.fill(0);
  return { key, baseNonce, exporterSecret };
}

function wipe(ctx: ContextSecrets): void {
  ctx.key.fill(0);
  ctx.baseNonce.fill(0);
  ctx.exporterSecret.fill(0);
}

/**
 * RFC 9180 §5.2 ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn). Single-shot use only ever
 * needs seq = 0, where the XOR leaves base_nonce unchanged.
 */
function firstNonce(ctx: ContextSecrets): Uint8Array {
  return ctx.baseNonce.slice();
}

/** RFC 9180 §5.3 Context.Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", ...). */
function exportFrom(ctx: ContextSecrets, exporterContext: Uint8Array, length: number): Uint8Array {
  return labeledExpand(HPKE_SUITE_ID, ctx.exporterSecret, "sec", exporterContext, length);
}

export interface SealResult {
  enc: Uint8Array;
  ct: Uint8Array;
}

/**
 * RFC 9180 §6.1 SealBase with the ephemeral key pair derived from `ikmE`, as Appendix A does.
 * Only known-answer tests should call this; use sealBase.
 */
export function sealBaseDeterministic(
  pkR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  ikmE: Uint8Array,
): SealResult {
  return seal(pkR, info, aad, plaintext, deriveKeyPair(ikmE));
}

/** RFC 9180 §6.1 SealBase(pkR, info, aad, pt) -> (enc, ct). */
export function sealBase(
  pkR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): SealResult {
  return seal(pkR, info, aad, plaintext, generateKeyPair());
}

function seal(
  pkR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  ephemeral: X25519KeyPair,
): SealResult {
  if (pkR.length !== N_PK) throw new RangeError(`an X25519 public key is ${N_PK} bytes`);
  const { sharedSecret, enc } = encap(pkR, ephemeral);
  const ctx = keyScheduleBase(sharedSecret, info);
  const nonce = firstNonce(ctx);
  try {
    return { enc, ct: chacha20poly1305(ctx.key, nonce, aad).encrypt(plaintext) };
  } finally {
    nonce.fill(0);
    wipe(ctx);
  }
}

/** RFC 9180 §6.1 OpenBase(enc, skR, info, aad, ct) -> pt. Throws HpkeError on any failure. */
export function openBase(
  enc: Uint8Array,
  skR: Uint8Array,
  pkR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  const sharedSecret = decap(enc, skR, pkR);
  const ctx = keyScheduleBase(sharedSecret, info);
  const nonce = firstNonce(ctx);
  try {
    return chacha20poly1305(ctx.key, nonce, aad).decrypt(ciphertext);
  } catch {
    throw new HpkeError();
  } finally {
    nonce.fill(0);
    wipe(ctx);
  }
}

/** RFC 9180 §6.2 SendExportBase(pkR, info, exporter_context, L) -> (enc, exported). */
export function sendExportBase(
  pkR: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
): { enc: Uint8Array; secret: Uint8Array } {
  if (pkR.length !== N_PK) throw new RangeError(`an X25519 public key is ${N_PK} bytes`);
  const { sharedSecret, enc } = encap(pkR, generateKeyPair());
  const ctx = keyScheduleBase(sharedSecret, info);
  try {
    return { enc, secret: exportFrom(ctx, exporterContext, length) };
  } finally {
    wipe(ctx);
  }
}

/** RFC 9180 §6.2 ReceiveExportBase(enc, skR, info, exporter_context, L). */
export function receiveExportBase(
  enc: Uint8Array,
  skR: Uint8Array,
  pkR: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
): Uint8Array {
  const sharedSecret = decap(enc, skR, pkR);
  const ctx = keyScheduleBase(sharedSecret, info);
  try {
    return exportFrom(ctx, exporterContext, length);
  } finally {
    wipe(ctx);
  }
}

/*
 * The same four operations as promises, with fresh ephemeral keys and the X25519 steps native
 * where the platform has them (encapFresh, decapAsync): what the provider uses. The synchronous
 * ones above are the @noble path and the known-answer tests' reference.
 */

/** sealBase, native X25519 where available. */
export async function sealBaseAsync(
  pkR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Promise<SealResult> {
  if (pkR.length !== N_PK) throw new RangeError(`an X25519 public key is ${N_PK} bytes`);
  const { sharedSecret, enc } = await encapFresh(pkR);
  const ctx = keyScheduleBase(sharedSecret, info);
  const nonce = firstNonce(ctx);
  try {
    return { enc, ct: chacha20poly1305(ctx.key, nonce, aad).encrypt(plaintext) };
  } finally {
    nonce.fill(0);
    wipe(ctx);
  }
}

/** openBase, native X25519 where available. Throws HpkeError on any failure. */
export async function openBaseAsync(
  enc: Uint8Array,
  skR: Uint8Array,
  pkR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  const sharedSecret = await decapAsync(enc, skR, pkR);
  const ctx = keyScheduleBase(sharedSecret, info);
  const nonce = firstNonce(ctx);
  try {
    return chacha20poly1305(ctx.key, nonce, aad).decrypt(ciphertext);
  } catch {
    throw new HpkeError();
  } finally {
    nonce.fill(0);
    wipe(ctx);
  }
}

/** sendExportBase, native X25519 where available. */
export async function sendExportBaseAsync(
  pkR: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
): Promise<{ enc: Uint8Array; secret: Uint8Array }> {
  if (pkR.length !== N_PK) throw new RangeError(`an X25519 public key is ${N_PK} bytes`);
  const { sharedSecret, enc } = await encapFresh(pkR);
  const ctx = keyScheduleBase(sharedSecret, info);
  try {
    return { enc, secret: exportFrom(ctx, exporterContext, length) };
  } finally {
    wipe(ctx);
  }
}

/** receiveExportBase, native X25519 where available. */
export async function receiveExportBaseAsync(
  enc: Uint8Array,
  skR: Uint8Array,
  pkR: Uint8Array,
  info: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const sharedSecret = await decapAsync(enc, skR, pkR);
  const ctx = keyScheduleBase(sharedSecret, info);
  try {
    return exportFrom(ctx, exporterContext, length);
  } finally {
    wipe(ctx);
  }
}
