import type { Kysely, Migration } from "kysely";

/*
 * AUTH-11, AUTH-12: account recovery without email. An admin-issued reset code (kind `reset`,
 * expires in 24 hours) and the codes a person makes for themselves (kind `recovery`, no
 * expiry). Only SHA-256 hashes of the codes (80 random bits each) are kept; a code is single
 * use (`used_at`), and the rows go with the account.
 */
export const recoveryCodes: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("recovery_codes")
      .addColumn("code_hash", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint")
      .addColumn("used_at", "bigint")
      .execute();
    await db.schema
      .createIndex("recovery_codes_user")
      .on("recovery_codes")
      .columns(["user_id", "kind"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("recovery_codes").execute();
  },
};
