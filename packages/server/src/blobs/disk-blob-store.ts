import { createReadStream } from "node:fs";
import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { type BlobStore, type BlobWriter, checkBlobId } from "./blob-store.js";

/**
 * Blobs as files under one directory (the data dir's `files/`), mode 0600, fanned out by the
 * id's first two hex digits. A write is fsync'ed before the upload's offset moves past it, so
 * a crash never leaves the record ahead of the bytes.
 */
export class DiskBlobStore implements BlobStore {
  constructor(private readonly dir: string) {}

  #path(id: string): string {
    return join(this.dir, checkBlobId(id).slice(0, 2), id);
  }

  async writer(id: string, offset: number): Promise<BlobWriter> {
    const path = this.#path(id);
    await mkdir(join(this.dir, id.slice(0, 2)), { recursive: true, mode: 0o700 });
    const handle = await open(path, "a+", 0o600).then(async (h) => {
      await h.close();
      return open(path, "r+");
    });
    await handle.truncate(offset);
    let position = offset;
    return {
      async write(piece) {
        let done = 0;
        while (done < piece.length) {
          const { bytesWritten } = await handle.write(piece, done, piece.length - done, position);
          done += bytesWritten;
          position += bytesWritten;
        }
        await handle.datasync();
      },
      close: () => handle.close(),
    };
  }

  async *read(id: string, start: number, end: number): AsyncIterable<Uint8Array> {
    if (end <= start) return;
    const stream = createReadStream(this.#path(id), { start, end: end - 1, highWaterMark: 256 * 1024 });
    for await (const chunk of stream) yield chunk as Buffer;
  }

  async delete(id: string): Promise<void> {
    await rm(this.#path(id), { force: true });
  }
}
