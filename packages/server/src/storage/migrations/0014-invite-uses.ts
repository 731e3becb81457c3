import { type Kysely, type Migration, sql } from "kysely";

/*
 * Issue 19: invites an admin can list and revoke, and codes that register more than one
 * account. `invites.id` is the public id (an admin names an invite by it; the code itself is
 * known only as its hash), `max_uses` and `uses` count registrations, `revoked_at` ends an
 * invite early. Old rows get the first 16 hex digits of their hash as id (the hash of a random
 * code says nothing of the code), one use, and the use they had.
 */
export const inviteUses: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("invites").addColumn("id", "text").execute();
    await db.schema
      .alterTable("invites")
      .addColumn("max_uses", "integer", (c) => c.notNull().defaultTo(1))
      .execute();
    await db.schema
      .alterTable("invites")
      .addColumn("uses", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable("invites").addColumn("revoked_at", "bigint").execute();
    await sql`update invites set id = substr(code_hash, 1, 16),
      uses = case when used_at is null then 0 else 1 end`.execute(db);
    await db.schema.createIndex("invites_id").on("invites").column("id").unique().execute();
    await db.schema.createIndex("invites_created_at").on("invites").column("created_at").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("invites_created_at").execute();
    await db.schema.dropIndex("invites_id").execute();
    await db.schema.alterTable("invites").dropColumn("revoked_at").execute();
    await db.schema.alterTable("invites").dropColumn("uses").execute();
    await db.schema.alterTable("invites").dropColumn("max_uses").execute();
    await db.schema.alterTable("invites").dropColumn("id").execute();
  },
};
