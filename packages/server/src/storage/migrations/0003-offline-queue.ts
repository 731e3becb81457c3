import { type Kysely, type Migration, PostgresAdapter, sql } from "kysely";

/*
 * The opt-in offline ciphertext queue (PARLEY_OFFLINE_QUEUE=on, docs/PROTOCOL.md RELAY-5..7).
 * A row is one room message held for one device that was offline when it was relayed: the
 * MLS ciphertext as the client sent it (bytes), who sent it, its server id and time, and when
 * it expires. Never plaintext: the server never has any.
 *
 * Order: like the handshake queue, each device has its own counter, here in
 * `offline_queue_cursors` (with the count of entries dropped for the per-device cap, which the
 * device is told about when it reconnects). With the option off, both tables stay empty.
 */
export const offlineQueue: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // SQLite's blob, PostgreSQL's bytea: the ciphertext is kept as bytes, not as base64 text.
    const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? sql`bytea` : sql`blob`;

    await db.schema
      .createTable("offline_queue_cursors")
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("next_seq", "bigint", (c) => c.notNull())
      .addColumn("dropped", "bigint", (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint("offline_queue_cursors_pkey", ["user_id", "device_id"])
      .addForeignKeyConstraint(
        "offline_queue_cursors_device",
        ["user_id", "device_id"],
        "devices",
        ["user_id", "device_id"],
        (f) => f.onDelete("cascade"),
      )
      .execute();

    await db.schema
      .createTable("offline_queue")
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("seq", "bigint", (c) => c.notNull())
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("message_id", "text", (c) => c.notNull())
      .addColumn("from_user_id", "text", (c) => c.notNull())
      .addColumn("from_username", "text", (c) => c.notNull())
      .addColumn("ts", "bigint", (c) => c.notNull())
      .addColumn("payload", bytes, (c) => c.notNull())
      .addColumn("payload_encoding", "text", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("offline_queue_pkey", ["user_id", "device_id", "seq"])
      .addForeignKeyConstraint(
        "offline_queue_device",
        ["user_id", "device_id"],
        "devices",
        ["user_id", "device_id"],
        (f) => f.onDelete("cascade"),
      )
      .addCheckConstraint("offline_queue_encoding", sql`payload_encoding in ('base64', 'base64url', 'text')`)
      .execute();
    await db.schema
      .createIndex("offline_queue_expires_idx")
      .on("offline_queue")
      .column("expires_at")
      .execute();
    await db.schema
      .createIndex("offline_queue_room_idx")
      .on("offline_queue")
      .columns(["user_id", "room_id"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("offline_queue").execute();
    await db.schema.dropTable("offline_queue_cursors").execute();
  },
};
