import type { Kysely, Migration } from "kysely";

/*
 * AUDIT-1: the persisted audit log, append-only. The server only ever inserts rows and, for
 * retention (PARLEY_AUDIT_RETENTION_DAYS), deletes the oldest; nothing updates one. No foreign
 * keys: an entry outlives the account it is about. Ids start with the event's time, so ordering
 * by id is ordering by time, and the id alone is the paging cursor.
 */
export const auditLog: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("audit_log")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("node", "text", (c) => c.notNull())
      .addColumn("actor_id", "text")
      .addColumn("user_id", "text")
      .addColumn("username", "text")
      .addColumn("ip", "text")
      .addColumn("user_agent", "text")
      .addColumn("details", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("audit_log_at").on("audit_log").column("at").execute();
    await db.schema.createIndex("audit_log_kind").on("audit_log").columns(["kind", "id"]).execute();
    await db.schema.createIndex("audit_log_user").on("audit_log").columns(["user_id", "id"]).execute();
    await db.schema.createIndex("audit_log_actor").on("audit_log").columns(["actor_id", "id"]).execute();
    await db.schema.createIndex("audit_log_ip").on("audit_log").columns(["ip", "id"]).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("audit_log").execute();
  },
};
