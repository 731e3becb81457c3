import type { Kysely, Migration } from "kysely";

/*
 * The MLS delivery service (RFC 9420 §14, RFC 9750): devices and their signature keys (the
 * Authentication Service binding), the KeyPackage directory, each room's group epoch and the
 * devices in it, and the durable per-device queue of Commits and Welcomes. None of it is
 * message content: handshake messages carry keys and membership, never what people say.
 *
 * Queue order: each device has its own counter (`devices.next_seq`) bumped in the same
 * transaction that accepts a Commit, which is portable to SQLite and PostgreSQL alike and
 * gives every device the groups' commits in the order the server accepted them.
 */
export const mlsDelivery: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("devices")
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("signature_key", "text", (c) => c.notNull())
      .addColumn("next_seq", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("devices_pkey", ["user_id", "device_id"])
      .addUniqueConstraint("devices_signature_key", ["signature_key"])
      .execute();

    await db.schema
      .createTable("key_packages")
      .addColumn("ref", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("key_package", "text", (c) => c.notNull())
      .addColumn("last_resort", "integer", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("key_packages_pkey", ["ref"])
      .addForeignKeyConstraint(
        "key_packages_device",
        ["user_id", "device_id"],
        "devices",
        ["user_id", "device_id"],
        (f) => f.onDelete("cascade"),
      )
      .execute();
    await db.schema
      .createIndex("key_packages_device_idx")
      .on("key_packages")
      .columns(["user_id", "device_id", "last_resort"])
      .execute();

    await db.schema
      .createTable("mls_groups")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("epoch", "bigint", (c) => c.notNull())
      .addColumn("group_info", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("mls_groups_pkey", ["room_id"])
      .execute();

    await db.schema
      .createTable("mls_group_devices")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("device_id", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("mls_group_devices_pkey", ["room_id", "user_id", "device_id"])
      .execute();

    await db.schema
      .createTable("handshake_queue")
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("seq", "bigint", (c) => c.notNull())
      .addColumn("room_id", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("epoch", "bigint", (c) => c.notNull())
      .addColumn("from_user_id", "text", (c) => c.notNull())
      .addColumn("from_device_id", "text", (c) => c.notNull())
      .addColumn("payload", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("handshake_queue_pkey", ["user_id", "device_id", "seq"])
      .addForeignKeyConstraint(
        "handshake_queue_device",
        ["user_id", "device_id"],
        "devices",
        ["user_id", "device_id"],
        (f) => f.onDelete("cascade"),
      )
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ["handshake_queue", "mls_group_devices", "mls_groups", "key_packages", "devices"]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
