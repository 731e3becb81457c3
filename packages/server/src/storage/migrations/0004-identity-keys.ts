import type { Kysely, Migration } from "kysely";

/*
 * One identity per person (docs/SECURITY.md, "One identity per person"). `identity_keys` holds
 * the identity key the server saw first for an account (set by its first certified device,
 * replaced only by an identity reset with the password); `devices.certificate` keeps a copy of
 * each device's certificate for discovery (`devices.list`). Clients never trust either copy:
 * they check certificates themselves and pin identity keys per person. The server uses them to
 * refuse devices and Commit leaves that the account's identity key did not certify.
 *
 * `device_revocations` keeps the identity key's signed statements that a device was removed.
 * Devices registered before this migration have no certificate; they cannot pass the checks
 * and register anew.
 */
export const identityKeys: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("identity_keys")
      .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
      .addColumn("identity_key", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.alterTable("devices").addColumn("certificate", "text").execute();
    await db.schema
      .createTable("device_revocations")
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("revocation", "text", (c) => c.notNull())
      .addColumn("revoked_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("device_revocations_pkey", ["user_id", "device_id"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("device_revocations").execute();
    await db.schema.alterTable("devices").dropColumn("certificate").execute();
    await db.schema.dropTable("identity_keys").execute();
  },
};
