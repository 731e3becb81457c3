import { type Kysely, type Migration, PostgresAdapter, sql } from "kysely";

/*
 * Encrypted files (docs/PROTOCOL.md, "Files"). `files` holds what the server needs to enforce
 * its rules: the room a file was posted to (downloads are for its members only), the uploader
 * (quota, resuming), the declared MIME type and plaintext size (limits), how many ciphertext
 * bytes arrived, and when it expires. Never a name, a key or a plaintext byte: those travel in
 * the MLS message. A deleted or expired file keeps its row (state `deleted`) for a week, so a
 * late download hears 410 rather than 404.
 *
 * `file_chunks` is the database blob backend (PARLEY_FILE_STORE=database, for clusters): the
 * ciphertext in pieces, each at its byte offset (`start`). With the disk backend it stays empty.
 */
export const files: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? sql`bytea` : sql`blob`;
    await db.schema
      .createTable("files")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("room_id", "text", (c) => c.notNull())
      .addColumn("owner_id", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("size", "bigint", (c) => c.notNull())
      .addColumn("length", "bigint", (c) => c.notNull())
      .addColumn("received", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("once", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addCheckConstraint("files_state", sql`state in ('uploading', 'complete', 'deleted')`)
      .execute();
    await db.schema.createIndex("files_owner_idx").on("files").columns(["owner_id", "state"]).execute();
    await db.schema.createIndex("files_expires_idx").on("files").columns(["state", "expires_at"]).execute();
    await db.schema
      .createTable("file_chunks")
      .addColumn("file_id", "text", (c) => c.notNull())
      .addColumn("start", "bigint", (c) => c.notNull())
      .addColumn("data", bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint("file_chunks_pkey", ["file_id", "start"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("file_chunks").execute();
    await db.schema.dropTable("files").execute();
  },
};
