/**
 * Encrypted files (docs/PROTOCOL.md, "Files"): a file is sealed on this device with a fresh key
 * in 64 KiB chunks (@parley/crypto attachment.ts), uploaded part by part to the server's blob
 * store (resuming where the server's copy ends when a part is cut off), and announced in the
 * room by an MLS message carrying its descriptor (the key, name, type, size, SHA-256). A member
 * downloads the ciphertext part by part and opens it chunk by chunk. Neither side ever holds
 * the whole file: memory is bounded by one part.
 */

import { utf8ToBytes } from "@noble/ciphers/utils.js";
import {
  chunkCount,
  chunkLength,
  FILE_CHUNK_BYTES,
  FILE_SCHEME,
  FILE_SEALED_CHUNK_BYTES,
  fileHasher,
  newFileKey,
  openChunk,
  sealChunk,
  sealedSize,
} from "@parley/crypto";
import {
  FILE_ID_PATTERN,
  type FilesInfo,
  FileUploadState,
  fileTypeAllowed,
  type InfoResponse,
  mimeEssence,
} from "@parley/protocol";
import { base64ToBytes, bytesToBase64 } from "./base64.js";
import { isParleyClientError, ParleyClientError } from "./errors.js";
import { expectShape, parseJson } from "./json.js";
import type { FetchResponse } from "./platform.js";

/** Where a file's bytes come from: a browser Blob, a file on disk, bytes in memory. */
export interface FileSource {
  /** Bytes in all. */
  readonly size: number;
  /** Bytes [offset, offset + length); may be called again for the same range (resuming). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Where a download's plaintext goes, in order. A download that fails should be discarded. */
export interface FileSink {
  write(bytes: Uint8Array): Promise<void> | void;
}

/** Plaintext bytes moved so far, of all. */
export interface TransferProgress {
  readonly done: number;
  readonly total: number;
}

export interface TransferOptions {
  /** Called after each part (at most every `partChunks` × 64 KiB), and once at the end. */
  onProgress?: (progress: TransferProgress) => void;
  /** Checked before each part: once `aborted` is true the transfer stops with `transfer_cancelled`. */
  signal?: { readonly aborted: boolean };
}

/** What the sender says about a file besides its bytes. */
export interface FileMeta {
  /** The file name shown to members (no path). */
  readonly name: string;
  /** The MIME type, e.g. `image/png` or `audio/webm;codecs=opus`. */
  readonly type: string;
  /** Images and video: pixels. */
  readonly width?: number;
  readonly height?: number;
  /** Audio and video: milliseconds. */
  readonly durationMs?: number;
  /** A small preview the caller made (at most THUMBNAIL_MAX_BYTES), e.g. a 160-px JPEG. */
  readonly thumbnail?: Uint8Array;
  readonly thumbnailType?: string;
  /** Voice notes: loudness samples 0-255 (at most WAVEFORM_MAX_SAMPLES). */
  readonly waveform?: readonly number[];
  /** Photos and voice notes: removed on every device of a recipient once opened. */
  readonly viewOnce?: boolean;
}

/**
 * What the MLS message carries about a file (Content `{ file }`): enough to fetch, open, check
 * and show it. The key never leaves MLS; the server has only `id`.
 */
export interface FileDescriptor {
  readonly id: string;
  /** The file key, base64 (32 bytes). */
  readonly key: string;
  readonly scheme: typeof FILE_SCHEME;
  /** SHA-256 of the plaintext, lower-case hex. */
  readonly sha256: string;
  readonly name: string;
  readonly type: string;
  /** Plaintext bytes. */
  readonly size: number;
  /** When the server deletes it (ms). */
  readonly expiresAt: number;
  readonly width?: number;
  readonly height?: number;
  readonly durationMs?: number;
  /** base64 of the caller's preview bytes. */
  readonly thumbnail?: string;
  readonly thumbnailType?: string;
  readonly waveform?: readonly number[];
  readonly viewOnce?: true;
}

export const THUMBNAIL_MAX_BYTES = 48 * 1024;
export const WAVEFORM_MAX_SAMPLES = 256;
export const FILE_NAME_MAX_LENGTH = 255;
/** Chunks per HTTP request (16 × 64 KiB = 1 MiB of plaintext). */
export const PART_CHUNKS = 16;
/** How many times one transfer resumes after a cut connection before it gives up. */
const RESUMES = 5;

/** What files.ts needs of the client: the server's info and authenticated requests. */
export interface FileHttp {
  info(): Promise<InfoResponse>;
  raw(
    method: string,
    path: string,
    headers?: Record<string, string>,
    body?: Uint8Array<ArrayBuffer>,
  ): Promise<FetchResponse>;
}

/** What a file transfer needs beyond the HTTP calls (sleep between resumes). */
export interface FileTransferOptions {
  sleep: (ms: number) => Promise<void>;
  partChunks?: number;
}

/**
 * Why the server would refuse a file, from its /api/info (files off, too large, a refused
 * type); undefined when it would take it. Clients call it before any upload starts.
 */
export function fileRefusal(
  info: FilesInfo | undefined,
  file: { readonly size: number; readonly type: string },
): "files_disabled" | "file_too_large" | "file_type_refused" | undefined {
  if (info === undefined || !info.enabled) return "files_disabled";
  if (file.size > info.maxBytes) return "file_too_large";
  if (!fileTypeAllowed(file.type, info.types)) return "file_type_refused";
  return undefined;
}

/** Uploads and downloads (see the module comment). One per client. */
export class FileTransfers {
  #info: FilesInfo | undefined;

  constructor(
    private readonly http: FileHttp,
    private readonly o: FileTransferOptions,
  ) {}

  /** The server's file settings (/api/info), read once and kept; `refresh` reads them again. */
  async limits(refresh = false): Promise<FilesInfo> {
    if (this.#info === undefined || refresh) {
      const info = await this.http.info();
      this.#info = info.files ?? { enabled: false, maxBytes: 0, ttlSeconds: 1, types: [], quotaBytes: 0 };
    }
    return this.#info;
  }

  /** Throws what the server would answer (`files_disabled`, `file_too_large`, `file_type_refused`), before uploading. */
  async check(file: { readonly size: number; readonly type: string }): Promise<void> {
    const refusal = fileRefusal(await this.limits(), file);
    if (refusal !== undefined) throw new ParleyClientError(refusal);
  }

  /** Encrypts and uploads `source` to a room's blob store; resolves with the descriptor to send. */
  async upload(
    roomId: string,
    source: FileSource,
    meta: FileMeta,
    options: TransferOptions = {},
  ): Promise<FileDescriptor> {
    const size = source.size;
    const extras = checkMeta(meta, size);
    await this.check({ size, type: meta.type });
    const created = await this.#json(
      await this.http.raw(
        "POST",
        "/api/files",
        { "content-type": "application/json", accept: "application/json" },
        encodeJson({ roomId, size, type: meta.type, ...(meta.viewOnce === true ? { once: true } : {}) }),
      ),
    );
    const key = newFileKey();
    const hash = fileHasher();
    const count = chunkCount(size);
    const partChunks = this.o.partChunks ?? PART_CHUNKS;
    let hashed = 0; // chunks already in the hash: a resumed part seals them again, never hashes them twice
    let offset = created.offset;
    let resumes = 0;
    while (offset < created.length) {
      cancelled(options);
      const first = Math.floor(offset / FILE_SEALED_CHUNK_BYTES);
      const last = Math.min(count, first + partChunks);
      const part = new Uint8Array(sealedEnd(size, last) - offset);
      let at = 0;
      for (let i = first; i < last; i++) {
        const plain = await readChunk(source, size, i);
        if (i >= hashed) {
          hash.update(plain);
          hashed = i + 1;
        }
        const sealed = sealChunk(key, i, i === count - 1, plain);
        const skip = i === first ? offset - first * FILE_SEALED_CHUNK_BYTES : 0;
        part.set(sealed.subarray(skip), at);
        at += sealed.length - skip;
      }
      try {
        const answer = await this.#json(
          await this.http.raw(
            "PATCH",
            `/api/files/${created.id}`,
            {
              "content-type": "application/offset+octet-stream",
              "upload-offset": String(offset),
              accept: "application/json",
            },
            part,
          ),
        );
        offset = answer.offset;
        resumes = 0;
      } catch (e) {
        if (!resumable(e) || ++resumes > RESUMES) throw e;
        await this.o.sleep(250 * 2 ** resumes);
        offset = (await this.#json(await this.http.raw("GET", `/api/files/${created.id}/upload`))).offset;
      }
      options.onProgress?.({ done: plainDone(size, offset, created.length), total: size });
    }
    // An empty file, or one whose upload had nothing left to send: hash what was not read yet.
    for (let i = hashed; i < count; i++) hash.update(await readChunk(source, size, i));
    options.onProgress?.({ done: size, total: size });
    return {
      id: created.id,
      key: bytesToBase64(key),
      scheme: FILE_SCHEME,
      sha256: hash.digestHex(),
      name: meta.name,
      type: meta.type,
      size,
      expiresAt: created.expiresAt,
      ...extras,
    };
  }

  /**
   * Downloads, opens and checks a file, writing its plaintext to `sink` in order. Rejects with
   * `file_corrupt` when any chunk fails to open or the SHA-256 differs (discard what the sink
   * got), or with the server's code (`file_expired`, `not_found`).
   */
  async download(file: FileDescriptor, sink: FileSink, options: TransferOptions = {}): Promise<void> {
    const d = checkDescriptor(file);
    const key = base64ToBytes(d.key);
    const count = chunkCount(d.size);
    const partChunks = this.o.partChunks ?? PART_CHUNKS;
    const hash = fileHasher();
    let resumes = 0;
    let done = 0;
    for (let first = 0; first < count; ) {
      cancelled(options);
      const last = Math.min(count, first + partChunks);
      const start = first * FILE_SEALED_CHUNK_BYTES;
      const end = sealedEnd(d.size, last);
      let bytes: Uint8Array;
      try {
        const res = await this.http.raw("GET", `/api/files/${d.id}`, { range: `bytes=${start}-${end - 1}` });
        if (res.arrayBuffer === undefined) throw new TypeError("this fetch cannot read bytes (arrayBuffer)");
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        if (!resumable(e) || ++resumes > RESUMES) throw e;
        await this.o.sleep(250 * 2 ** resumes);
        continue;
      }
      resumes = 0;
      if (bytes.length !== end - start) throw new ParleyClientError("file_corrupt");
      let at = 0;
      for (let i = first; i < last; i++) {
        const n = chunkLength(d.size, i) + FILE_SEALED_CHUNK_BYTES - FILE_CHUNK_BYTES;
        let plain: Uint8Array;
        try {
          plain = openChunk(key, i, i === count - 1, bytes.subarray(at, at + n));
        } catch (cause) {
          throw new ParleyClientError("file_corrupt", { cause });
        }
        at += n;
        hash.update(plain);
        try {
          await sink.write(plain);
        } catch (cause) {
          throw new ParleyClientError("file_unreadable", { cause });
        }
        done += plain.length;
      }
      first = last;
      options.onProgress?.({ done, total: d.size });
    }
    if (done !== d.size || hash.digestHex() !== d.sha256) throw new ParleyClientError("file_corrupt");
  }

  /** Deletes a file on the server: its uploader's own, or a view-once file of a room the user is in. */
  async remove(id: string): Promise<void> {
    if (!new RegExp(FILE_ID_PATTERN).test(id))
      throw new TypeError("file id must be 32 lower-case hex digits");
    await this.http.raw("DELETE", `/api/files/${id}`);
  }

  async #json(res: FetchResponse): Promise<FileUploadState> {
    let value: unknown;
    try {
      value = parseJson(await res.text());
    } catch (cause) {
      throw new ParleyClientError("unexpected_answer", { cause });
    }
    return expectShape<FileUploadState>(FileUploadState, value, "file upload state");
  }
}

/** A cut connection or a server that moved on: ask where to continue and go on from there. */
function resumable(e: unknown): boolean {
  if (!isParleyClientError(e)) return false;
  return (
    e.code === "http_failed" ||
    e.code === "upload_offset_mismatch" ||
    e.status === 502 ||
    e.status === 503 ||
    e.status === 504
  );
}

function cancelled(options: TransferOptions): void {
  if (options.signal?.aborted === true) throw new ParleyClientError("transfer_cancelled");
}

/** Where the sealed bytes of the first `chunks` chunks end. */
function sealedEnd(size: number, chunks: number): number {
  const count = chunkCount(size);
  if (chunks >= count) return sealedSize(size);
  return chunks * FILE_SEALED_CHUNK_BYTES;
}

function plainDone(size: number, offset: number, length: number): number {
  if (offset >= length) return size;
  return Math.min(size, Math.floor(offset / FILE_SEALED_CHUNK_BYTES) * FILE_CHUNK_BYTES);
}

async function readChunk(source: FileSource, size: number, index: number): Promise<Uint8Array> {
  const n = chunkLength(size, index);
  let bytes: Uint8Array;
  try {
    bytes = await source.read(index * FILE_CHUNK_BYTES, n);
  } catch (cause) {
    throw new ParleyClientError("file_unreadable", { cause });
  }
  if (bytes.length !== n) throw new ParleyClientError("file_unreadable");
  return bytes;
}

function encodeJson(value: unknown): Uint8Array<ArrayBuffer> {
  const text = utf8ToBytes(JSON.stringify(value));
  const out = new Uint8Array(text.length);
  out.set(text);
  return out;
}

type Extras = Partial<
  Pick<
    FileDescriptor,
    "width" | "height" | "durationMs" | "thumbnail" | "thumbnailType" | "waveform" | "viewOnce"
  >
>;

function checkMeta(meta: FileMeta, size: number): Extras {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new TypeError("source.size must be a non-negative integer");
  if (typeof meta.name !== "string" || meta.name.length === 0 || meta.name.length > FILE_NAME_MAX_LENGTH)
    throw new TypeError(`meta.name must be 1-${FILE_NAME_MAX_LENGTH} characters`);
  if (mimeEssence(meta.type) === undefined) throw new TypeError("meta.type must be a MIME type");
  const out: Record<string, unknown> = {};
  for (const k of ["width", "height", "durationMs"] as const) {
    const v = meta[k];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`meta.${k} must be a non-negative integer`);
    out[k] = v;
  }
  if (meta.thumbnail !== undefined) {
    if (!(meta.thumbnail instanceof Uint8Array) || meta.thumbnail.length > THUMBNAIL_MAX_BYTES)
      throw new RangeError(`meta.thumbnail must be at most ${THUMBNAIL_MAX_BYTES} bytes`);
    out.thumbnail = bytesToBase64(meta.thumbnail);
    if (meta.thumbnailType !== undefined) {
      if (mimeEssence(meta.thumbnailType) === undefined)
        throw new TypeError("meta.thumbnailType must be a MIME type");
      out.thumbnailType = meta.thumbnailType;
    }
  }
  if (meta.waveform !== undefined) {
    if (!Array.isArray(meta.waveform) || meta.waveform.length > WAVEFORM_MAX_SAMPLES)
      throw new RangeError(`meta.waveform must have at most ${WAVEFORM_MAX_SAMPLES} samples`);
    if (!meta.waveform.every((n) => Number.isInteger(n) && n >= 0 && n <= 255))
      throw new RangeError("meta.waveform samples must be integers 0-255");
    out.waveform = [...meta.waveform];
  }
  if (meta.viewOnce === true) out.viewOnce = true;
  return out as Extras;
}

/** A descriptor from a message, checked field by field (it came from another member). */
export function checkDescriptor(value: unknown): FileDescriptor {
  const bad = () => new ParleyClientError("content_invalid");
  if (typeof value !== "object" || value === null) throw bad();
  const v = value as Record<string, unknown>;
  const int = (x: unknown) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
  if (typeof v.id !== "string" || !new RegExp(FILE_ID_PATTERN).test(v.id)) throw bad();
  if (v.scheme !== FILE_SCHEME) throw bad();
  if (typeof v.key !== "string" || v.key.length > 64) throw bad();
  try {
    if (base64ToBytes(v.key).length !== 32) throw bad();
  } catch {
    throw bad();
  }
  if (typeof v.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(v.sha256)) throw bad();
  if (typeof v.name !== "string" || v.name.length === 0 || v.name.length > FILE_NAME_MAX_LENGTH) throw bad();
  if (typeof v.type !== "string" || mimeEssence(v.type) === undefined) throw bad();
  if (!int(v.size) || !int(v.expiresAt)) throw bad();
  for (const k of ["width", "height", "durationMs"]) if (v[k] !== undefined && !int(v[k])) throw bad();
  if (
    v.thumbnail !== undefined &&
    (typeof v.thumbnail !== "string" || v.thumbnail.length > (THUMBNAIL_MAX_BYTES * 4) / 3 + 4)
  )
    throw bad();
  if (
    v.thumbnailType !== undefined &&
    (typeof v.thumbnailType !== "string" || mimeEssence(v.thumbnailType) === undefined)
  )
    throw bad();
  if (
    v.waveform !== undefined &&
    (!Array.isArray(v.waveform) ||
      v.waveform.length > WAVEFORM_MAX_SAMPLES ||
      !v.waveform.every((n) => Number.isInteger(n) && n >= 0 && n <= 255))
  )
    throw bad();
  if (v.viewOnce !== undefined && v.viewOnce !== true) throw bad();
  const pick = [
    "width",
    "height",
    "durationMs",
    "thumbnail",
    "thumbnailType",
    "waveform",
    "viewOnce",
  ] as const;
  const out: Record<string, unknown> = {
    id: v.id,
    key: v.key,
    scheme: v.scheme,
    sha256: v.sha256,
    name: v.name,
    type: v.type,
    size: v.size,
    expiresAt: v.expiresAt,
  };
  for (const k of pick) if (v[k] !== undefined) out[k] = v[k];
  return out as unknown as FileDescriptor;
}

/** A FileSource over bytes in memory (small files, tests). */
export function bytesSource(bytes: Uint8Array): FileSource {
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
}
