/**
 * Attachment encryption (DESIGN.md, "attachments"): a file is sealed on the sending device with
 * a fresh random 256-bit key, in fixed-size chunks, each an XChaCha20-Poly1305 AEAD box. The
 * chunk's index and whether it is the last one are bound in as associated data, so a server
 * that reorders, drops, repeats or cuts off chunks makes the open fail; the key lives only in
 * the MLS message that announces the file.
 *
 *   plaintext chunk i = bytes [i * 65536, (i + 1) * 65536) of the file (the last may be short;
 *                       an empty file is one empty chunk)
 *   nonce_i  = 16 zero bytes || u64be(i)           (the key is used for this one file only)
 *   aad_i    = "parley-file-v1" || u64be(i) || (last ? 0x01 : 0x00)
 *   sealed_i = XChaCha20-Poly1305(key, nonce_i, aad_i, chunk_i)   (chunk length + 16 bytes)
 *
 * Sealing is deterministic for a key, so an upload cut off mid-way resumes at any byte offset
 * by sealing the same chunk again.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesToHex, randomBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ParleyCryptoError } from "./errors.js";

/** The scheme name carried in the file descriptor. */
export const FILE_SCHEME = "xchacha20poly1305-64k-v1";
/** Plaintext bytes per chunk. */
export const FILE_CHUNK_BYTES = 65_536;
/** Poly1305 tag bytes added to each chunk. */
export const FILE_TAG_BYTES = 16;
/** Bytes of one full sealed chunk. */
export const FILE_SEALED_CHUNK_BYTES = FILE_CHUNK_BYTES + FILE_TAG_BYTES;

const KEY_BYTES = 32;
const LABEL = utf8ToBytes("parley-file-v1");

/** A fresh random file key (32 bytes) from the platform's CSPRNG. */
export function newFileKey(): Uint8Array {
  return randomBytes(KEY_BYTES);
}

/** How many chunks a file of `size` plaintext bytes has (at least one). */
export function chunkCount(size: number): number {
  checkSize(size);
  return Math.max(1, Math.ceil(size / FILE_CHUNK_BYTES));
}

/** The sealed (ciphertext) length of a file of `size` plaintext bytes. */
export function sealedSize(size: number): number {
  return size + chunkCount(size) * FILE_TAG_BYTES;
}

/** The plaintext length of chunk `index` of a file of `size` bytes. */
export function chunkLength(size: number, index: number): number {
  const count = chunkCount(size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count)
    throw new RangeError("chunk index out of range");
  return index === count - 1 ? size - index * FILE_CHUNK_BYTES : FILE_CHUNK_BYTES;
}

/** Seals chunk `index` of a file; `last` marks the final chunk. */
export function sealChunk(key: Uint8Array, index: number, last: boolean, chunk: Uint8Array): Uint8Array {
  checkKey(key);
  if (chunk.length > FILE_CHUNK_BYTES) throw new RangeError("chunk longer than FILE_CHUNK_BYTES");
  return xchacha20poly1305(key, nonceOf(index), aadOf(index, last)).encrypt(chunk);
}

/**
 * Opens sealed chunk `index`; throws ParleyCryptoError `authentication_failed` for a chunk that
 * was altered, moved to another index, or marked last (or not) against what the caller expects.
 */
export function openChunk(key: Uint8Array, index: number, last: boolean, sealed: Uint8Array): Uint8Array {
  checkKey(key);
  if (sealed.length < FILE_TAG_BYTES || sealed.length > FILE_SEALED_CHUNK_BYTES)
    throw new ParleyCryptoError("authentication_failed");
  try {
    return xchacha20poly1305(key, nonceOf(index), aadOf(index, last)).decrypt(sealed);
  } catch (cause) {
    throw new ParleyCryptoError("authentication_failed", { cause });
  }
}

/** A streaming SHA-256 of a file's plaintext, for the descriptor's `sha256` (lower-case hex). */
export interface FileHasher {
  update(bytes: Uint8Array): void;
  digestHex(): string;
}

export function fileHasher(): FileHasher {
  const h = sha256.create();
  return {
    update: (bytes) => {
      h.update(bytes);
    },
    digestHex: () => bytesToHex(h.digest()),
  };
}

function nonceOf(index: number): Uint8Array {
  const nonce = new Uint8Array(24);
  new DataView(nonce.buffer).setBigUint64(16, BigInt(checkIndex(index)));
  return nonce;
}

function aadOf(index: number, last: boolean): Uint8Array {
  const aad = new Uint8Array(LABEL.length + 9);
  aad.set(LABEL);
  new DataView(aad.buffer).setBigUint64(LABEL.length, BigInt(checkIndex(index)));
  aad[LABEL.length + 8] = last ? 1 : 0;
  return aad;
}

function checkIndex(index: number): number {
  if (!Number.isSafeInteger(index) || index < 0)
    throw new RangeError("chunk index must be a non-negative integer");
  return index;
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES)
    throw new TypeError("file key must be 32 bytes");
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new RangeError("file size must be a non-negative integer");
}
