import type { Kysely, Migration } from "kysely";

/*
 * Rooms a team manages itself (ROOM-14 to ROOM-17): `rooms.max_members` caps a room's members
 * (null: no cap), `rooms.passphrase_hash` is the argon2id hash of a public room's join passphrase
 * (null: none; the passphrase itself is never stored), and `room_members.is_moderator` marks the
 * members the owner made moderators. A flag beside the role rather than a third role value:
 * the role's check constraint cannot be changed in SQLite without rebuilding the table.
 */
export const roomSettings: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("rooms").addColumn("max_members", "integer").execute();
    await db.schema.alterTable("rooms").addColumn("passphrase_hash", "text").execute();
    await db.schema
      .alterTable("room_members")
      .addColumn("is_moderator", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    // ROOM-17: pending invitations one account sent are counted for its cap.
    await db.schema.createIndex("room_invites_invited_by").on("room_invites").column("invited_by").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("room_invites_invited_by").execute();
    await db.schema.alterTable("room_members").dropColumn("is_moderator").execute();
    await db.schema.alterTable("rooms").dropColumn("passphrase_hash").execute();
    await db.schema.alterTable("rooms").dropColumn("max_members").execute();
  },
};
