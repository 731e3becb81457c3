import type { Kysely, Migration } from "kysely";

/*
 * Account self-service and room moderation (ACCT-1 to ACCT-6, ROOM-19):
 * - `sessions.user_agent`, `sessions.ip`, `sessions.last_seen_at`: what a person sees of their
 *   own sessions. The address is personal data shown only to its owner; `last_seen_at` is
 *   written at most once a minute per session.
 * - `user_blocks`: people whose room invitations a person refuses.
 * - `room_bans`: users a room's owner or moderators banned; gone with the room or the user.
 * - `retired_usernames`: the names of deleted accounts, never registrable again, so nobody can
 *   take over a name contacts knew as someone else (ACCT-5).
 */
export const accountSelfService: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("sessions").addColumn("user_agent", "text").execute();
    await db.schema.alterTable("sessions").addColumn("ip", "text").execute();
    await db.schema.alterTable("sessions").addColumn("last_seen_at", "bigint").execute();

    await db.schema
      .createTable("user_blocks")
      .addColumn("blocker_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("blocked_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("user_blocks_pkey", ["blocker_id", "blocked_id"])
      .execute();
    await db.schema.createIndex("user_blocks_blocked_idx").on("user_blocks").column("blocked_id").execute();

    await db.schema
      .createTable("room_bans")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      // No reference: a ban outlives the account of the moderator who made it.
      .addColumn("banned_by", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("room_bans_pkey", ["room_id", "user_id"])
      .execute();
    await db.schema.createIndex("room_bans_user_idx").on("room_bans").column("user_id").execute();

    await db.schema
      .createTable("retired_usernames")
      .addColumn("username_key", "text", (c) => c.notNull())
      .addColumn("retired_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("retired_usernames_pkey", ["username_key"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("retired_usernames").execute();
    await db.schema.dropTable("room_bans").execute();
    await db.schema.dropTable("user_blocks").execute();
    await db.schema.alterTable("sessions").dropColumn("last_seen_at").execute();
    await db.schema.alterTable("sessions").dropColumn("ip").execute();
    await db.schema.alterTable("sessions").dropColumn("user_agent").execute();
  },
};
