import type { Kysely, Migration } from "kysely";

/*
 * AUTH-13 to AUTH-15: optional TOTP (RFC 6238) as a second factor. `totp_factors` holds one
 * factor per account: its secret sealed with the server's TOTP key (AES-256-GCM, never the
 * plain secret), when it was confirmed (null while enrolment waits for its first code), and the
 * last time step a code was accepted for, so a code is never accepted twice. `login_challenges`
 * are the single-use tokens a login answers with when a code is still needed, by SHA-256 hash,
 * bound to the account and the client's address. TOTP recovery codes are rows of
 * `recovery_codes` with kind `totp`. Rows go with their account.
 */
export const totp: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("totp_factors")
      .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
      .addColumn("secret", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("enabled_at", "bigint")
      .addColumn("last_step", "bigint")
      .execute();
    await db.schema
      .createTable("login_challenges")
      .addColumn("token_hash", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("ip", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("used_at", "bigint")
      .execute();
    await db.schema
      .createIndex("login_challenges_expiry")
      .on("login_challenges")
      .column("expires_at")
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("login_challenges").execute();
    await db.schema.dropTable("totp_factors").execute();
  },
};
