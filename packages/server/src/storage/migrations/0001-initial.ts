import { type Kysely, type Migration, sql } from "kysely";

/*
 * Constraint names are spelled out (rather than left to each database's defaults) because
 * unique-violation.ts maps them to StorageConflictError names; PostgreSQL reports the name,
 * SQLite reports the columns, and both must be predictable.
 *
 * Times are `bigint` (milliseconds overflow a 32-bit integer); booleans are 0/1 `integer`.
 */
export const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("users")
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("username", "text", (c) => c.notNull())
      .addColumn("username_key", "text", (c) => c.notNull())
      .addColumn("password_hash", "text", (c) => c.notNull())
      .addColumn("is_admin", "integer", (c) => c.notNull())
      .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("users_pkey", ["id"])
      .addUniqueConstraint("users_username_key", ["username_key"])
      .execute();

    await db.schema
      .createTable("sessions")
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("revoked_at", "bigint")
      .addPrimaryKeyConstraint("sessions_pkey", ["id"])
      .execute();
    await db.schema.createIndex("sessions_user_id").on("sessions").column("user_id").execute();

    await db.schema
      .createTable("refresh_tokens")
      .addColumn("token_hash", "text", (c) => c.notNull())
      .addColumn("session_id", "text", (c) => c.notNull().references("sessions.id").onDelete("cascade"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("used_at", "bigint")
      .addPrimaryKeyConstraint("refresh_tokens_pkey", ["token_hash"])
      .execute();
    await db.schema
      .createIndex("refresh_tokens_session_id")
      .on("refresh_tokens")
      .column("session_id")
      .execute();
    await db.schema
      .createIndex("refresh_tokens_expires_at")
      .on("refresh_tokens")
      .column("expires_at")
      .execute();

    // used_by has no foreign key: registration may consume the invite before the account row
    // exists, and the invite must still be burned if account creation then fails.
    await db.schema
      .createTable("invites")
      .addColumn("code_hash", "text", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("used_at", "bigint")
      .addColumn("used_by", "text")
      .addPrimaryKeyConstraint("invites_pkey", ["code_hash"])
      .execute();

    // Both databases treat NULLs as distinct in a unique constraint, so only direct rooms
    // (which have a pair key) compete for rooms_pair_key.
    await db.schema
      .createTable("rooms")
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("topic", "text")
      .addColumn("is_public", "integer", (c) => c.notNull())
      .addColumn("owner_id", "text", (c) => c.references("users.id").onDelete("set null"))
      .addColumn("pair_key", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("rooms_pkey", ["id"])
      .addUniqueConstraint("rooms_pair_key", ["pair_key"])
      .addCheckConstraint("rooms_kind", sql`kind in ('room', 'direct')`)
      .execute();

    await db.schema
      .createTable("room_members")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("role", "text", (c) => c.notNull())
      .addColumn("joined_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("room_members_pkey", ["room_id", "user_id"])
      .addCheckConstraint("room_members_role", sql`role in ('owner', 'member')`)
      .execute();
    await db.schema.createIndex("room_members_user_id").on("room_members").column("user_id").execute();

    await db.schema
      .createTable("room_invites")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("invited_by", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("room_invites_pkey", ["room_id", "user_id"])
      .execute();
    await db.schema.createIndex("room_invites_user_id").on("room_invites").column("user_id").execute();

    await db.schema
      .createTable("subscriptions")
      .addColumn("follower_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("target_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("subscriptions_pkey", ["follower_id", "target_id"])
      .execute();
    await db.schema.createIndex("subscriptions_target_id").on("subscriptions").column("target_id").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      "subscriptions",
      "room_invites",
      "room_members",
      "rooms",
      "invites",
      "refresh_tokens",
      "sessions",
      "users",
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
