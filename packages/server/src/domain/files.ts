import { randomBytes } from "node:crypto";
import {
  canonicalRoomId,
  FILE_ID_PATTERN,
  type FileUploadState,
  fileTypeAllowed,
  mimeEssence,
} from "@parley/protocol";
import type { BlobStore } from "../blobs/blob-store.js";
import type { FileRecord, FileStore } from "../storage/file-store.js";
import { ParleyError } from "./errors.js";
import { asRoomId, type UserId } from "./ids.js";

/** The file rules' settings (PARLEY_FILE_*). */
export interface FileLimits {
  readonly enabled: boolean;
  readonly maxBytes: number;
  readonly ttlMs: number;
  readonly types: readonly string[];
  readonly quotaBytes: number;
}

export interface FileServiceOptions {
  files: FileStore;
  blobs: BlobStore;
  limits: FileLimits;
  isMember: (roomId: string, userId: UserId) => Promise<boolean>;
  /** The ciphertext length of a file of `size` plaintext bytes (crypto's sealedSize). */
  sealedSize: (size: number) => number;
  now?: () => number;
}

/** Largest piece written to the blob store at once: what one cut connection can lose. */
export const PIECE_BYTES = 1024 * 1024;
/** How long a deleted or expired file still answers 410 before it is forgotten (then 404). */
export const TOMBSTONE_MS = 7 * 24 * 3600 * 1000;

const ID = new RegExp(FILE_ID_PATTERN);

/**
 * The blob store's rules (docs/PROTOCOL.md, "Files"): who may upload to a room, how big, which
 * types, within what quota, for how long; resumable uploads that continue exactly where the
 * stored bytes end; downloads for members of the room only, where a file that is not the
 * caller's to see answers `not_found` exactly like one that never existed. It handles
 * ciphertext only and never sees a file name or key.
 */
export class FileService {
  readonly #o: FileServiceOptions;
  readonly #now: () => number;
  /** Files with an upload in progress on this server: a second concurrent one is refused. */
  readonly #writing = new Set<string>();
  /** Aborted when the server stops: uploads in progress end at once, keeping what arrived. */
  readonly #stopping = new AbortController();

  constructor(options: FileServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => Date.now());
  }

  get limits(): FileLimits {
    return this.#o.limits;
  }

  /** POST /api/files. */
  async create(
    userId: UserId,
    input: { roomId: string; size: number; type: string; once?: boolean | undefined },
  ): Promise<FileUploadState> {
    const l = this.#enabled();
    const essence = mimeEssence(input.type);
    if (essence === undefined) throw new ParleyError("validation_failed", { details: ["/type"] });
    if (input.size > l.maxBytes) throw new ParleyError("file_too_large");
    if (!fileTypeAllowed(essence, l.types)) throw new ParleyError("file_type_refused");
    const roomId = canonicalRoomId(input.roomId);
    if (!(await this.#o.isMember(roomId, userId))) throw new ParleyError("room_not_found");
    const now = this.#now();
    const length = this.#o.sealedSize(input.size);
    if ((await this.#o.files.usage(userId, now)) + length > l.quotaBytes)
      throw new ParleyError("file_quota_exceeded");
    const id = randomBytes(16).toString("hex");
    const expiresAt = now + l.ttlMs;
    await this.#o.files.create({
      id,
      roomId: asRoomId(roomId),
      ownerId: userId,
      type: essence,
      size: input.size,
      length,
      once: input.once === true,
      createdAt: now,
      expiresAt,
    });
    return { id, length, offset: 0, expiresAt };
  }

  /** GET /api/files/:id/upload: how far the caller's own upload got. */
  async uploadState(userId: UserId, id: string): Promise<FileUploadState> {
    const f = await this.#own(userId, id);
    return { id: f.id, length: f.length, offset: f.received, expiresAt: f.expiresAt };
  }

  /**
   * PATCH /api/files/:id: appends `body` at `offset`, which must be where the stored bytes end.
   * Written in pieces, each recorded once stored, so a cut connection keeps what arrived.
   */
  async append(
    userId: UserId,
    id: string,
    offset: number,
    body: AsyncIterable<Uint8Array>,
  ): Promise<FileUploadState> {
    if (this.#stopping.signal.aborted) throw new ParleyError("server_shutting_down");
    let f = await this.#own(userId, id);
    if (offset !== f.received || f.state !== "uploading" || this.#writing.has(id))
      throw new ParleyError("upload_offset_mismatch", { details: [String(f.received)] });
    this.#writing.add(id);
    const writer = await this.#o.blobs.writer(id, offset);
    let at = offset;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const piece = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await writer.write(piece);
      if (!(await this.#o.files.advance(id, at, at + piece.length, at + piece.length === f.length)))
        throw new ParleyError("upload_offset_mismatch", { details: [String(at)] });
      at += piece.length;
    };
    try {
      for await (const chunk of untilAborted(body, this.#stopping.signal)) {
        if (at + pendingBytes + chunk.length > f.length) {
          // Keep what fits: the rest is refused, and the upload can still finish correctly.
          const fits = chunk.subarray(0, f.length - at - pendingBytes);
          if (fits.length > 0) {
            pending.push(fits);
            pendingBytes += fits.length;
          }
          await flush();
          throw new ParleyError("upload_overrun");
        }
        let rest = chunk;
        while (rest.length > 0) {
          const take = Math.min(rest.length, PIECE_BYTES - pendingBytes);
          pending.push(rest.subarray(0, take));
          pendingBytes += take;
          rest = rest.subarray(take);
          if (pendingBytes >= PIECE_BYTES) await flush();
        }
      }
      await flush();
    } catch (e) {
      // A cut connection or the server stopping: what arrived is kept (the rest of this piece
      // too, when the stream still yielded it), so the client resumes from the recorded offset.
      if (!(e instanceof ParleyError) || e.code === "server_shutting_down")
        await flush().catch(() => undefined);
      throw e;
    } finally {
      this.#writing.delete(id);
      await writer.close();
    }
    f = { ...f, received: at };
    return { id, length: f.length, offset: at, expiresAt: f.expiresAt };
  }

  /**
   * The server is stopping: uploads in progress stop reading, keep what arrived and are
   * answered `server_shutting_down` (the client resumes after the restart); new ones are refused.
   */
  stop(): void {
    this.#stopping.abort();
  }

  /**
   * GET /api/files/:id: the ciphertext for a member of the file's room. `range` is [start, end)
   * within the file, or the whole.
   */
  async open(userId: UserId, id: string): Promise<FileRecord> {
    this.#enabled();
    const f = await this.#visible(userId, id);
    if (f.state === "deleted" || f.expiresAt <= this.#now()) throw new ParleyError("file_expired");
    if (f.state !== "complete") throw new ParleyError("file_incomplete");
    return f;
  }

  read(f: FileRecord, start: number, end: number): AsyncIterable<Uint8Array> {
    return this.#o.blobs.read(f.id, start, end);
  }

  /** DELETE /api/files/:id: by its uploader, or by a member of its room when it is view-once. */
  async remove(userId: UserId, id: string): Promise<void> {
    this.#enabled();
    const f = await this.#visible(userId, id);
    if (f.ownerId !== userId && !f.once) throw new ParleyError("not_found");
    if (f.state === "deleted") return;
    await this.#o.files.markDeleted(id);
    await this.#o.blobs.delete(id);
  }

  /** ACCT-3: deletes every file `userId` uploaded (bytes and all); returns how many. Works with files off too. */
  async removeAllOf(userId: UserId): Promise<number> {
    let count = 0;
    for (const id of await this.#o.files.ownedBy(userId)) {
      await this.#o.blobs.delete(id);
      if (await this.#o.files.markDeleted(id)) count++;
    }
    return count;
  }

  /** Deletes the bytes of expired files and forgets long-gone ones; returns how many expired. */
  async sweep(batch = 100): Promise<number> {
    const now = this.#now();
    let count = 0;
    for (let round = 0; round < 100; round++) {
      const due = await this.#o.files.expired(now, batch);
      for (const f of due) {
        await this.#o.blobs.delete(f.id);
        if (await this.#o.files.markDeleted(f.id)) count++;
      }
      if (due.length < batch) break;
    }
    await this.#o.files.purgeDeleted(now - TOMBSTONE_MS);
    return count;
  }

  #enabled(): FileLimits {
    if (!this.#o.limits.enabled) throw new ParleyError("files_disabled");
    return this.#o.limits;
  }

  /** A file the caller uploaded; anyone else's is `not_found`. */
  async #own(userId: UserId, id: string): Promise<FileRecord> {
    this.#enabled();
    const f = ID.test(id) ? await this.#o.files.get(id) : undefined;
    if (f === undefined || f.ownerId !== userId) throw new ParleyError("not_found");
    if (f.state === "deleted" || f.expiresAt <= this.#now()) throw new ParleyError("file_expired");
    return f;
  }

  /** A file of a room the caller is in; any other is `not_found`, as if it never existed. */
  async #visible(userId: UserId, id: string): Promise<FileRecord> {
    const f = ID.test(id) ? await this.#o.files.get(id) : undefined;
    if (f === undefined || !(await this.#o.isMember(f.roomId, userId))) throw new ParleyError("not_found");
    return f;
  }
}

/** `body`'s chunks until `signal` aborts; then `server_shutting_down`, without waiting for the next chunk. */
async function* untilAborted(
  body: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ParleyError("server_shutting_down"));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted]);
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
