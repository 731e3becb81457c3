import type { Kysely } from "kysely";
import type { Database } from "../storage/database.js";
import { type BlobStore, type BlobWriter, checkBlobId } from "./blob-store.js";

/** Pieces read per query when streaming a blob out (a piece is at most ~1 MiB). */
const ROWS_PER_READ = 4;

/**
 * Blobs as rows of `file_chunks` (bytea) in the cluster's database, one row per piece the
 * domain wrote, keyed by its byte offset: every server of a cluster reads what any of them
 * received, with nothing else to run. Reads go a few rows at a time, so a large file never
 * sits whole in memory.
 */
export class DatabaseBlobStore implements BlobStore {
  constructor(private readonly db: Kysely<Database>) {}

  async writer(id: string, offset: number): Promise<BlobWriter> {
    checkBlobId(id);
    // Pieces start where an earlier one ended, so dropping those at or past `offset` cuts the
    // blob there exactly.
    await this.db.deleteFrom("file_chunks").where("file_id", "=", id).where("start", ">=", offset).execute();
    let position = offset;
    return {
      write: async (piece) => {
        if (piece.length === 0) return;
        await this.db
          .insertInto("file_chunks")
          .values({ file_id: id, start: position, data: piece })
          .execute();
        position += piece.length;
      },
      close: async () => undefined,
    };
  }

  async *read(id: string, start: number, end: number): AsyncIterable<Uint8Array> {
    checkBlobId(id);
    if (end <= start) return;
    // The piece that holds `start` begins at or before it.
    const first = await this.db
      .selectFrom("file_chunks")
      .select("start")
      .where("file_id", "=", id)
      .where("start", "<=", start)
      .orderBy("start", "desc")
      .limit(1)
      .executeTakeFirst();
    let from = first === undefined ? 0 : Number(first.start);
    while (from < end) {
      const rows = await this.db
        .selectFrom("file_chunks")
        .select(["start", "data"])
        .where("file_id", "=", id)
        .where("start", ">=", from)
        .where("start", "<", end)
        .orderBy("start")
        .limit(ROWS_PER_READ)
        .execute();
      if (rows.length === 0) return;
      for (const row of rows) {
        const s = Number(row.start);
        const data = row.data;
        const lo = Math.max(0, start - s);
        const hi = Math.min(data.length, end - s);
        if (hi > lo) yield data.subarray(lo, hi);
        from = s + data.length;
      }
    }
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom("file_chunks").where("file_id", "=", checkBlobId(id)).execute();
  }
}
