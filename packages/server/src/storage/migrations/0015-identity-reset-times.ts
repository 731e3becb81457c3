import type { Kysely, Migration } from "kysely";

/*
 * IDENT-4: `identity_keys.reset_at` is when the first device under a reset identity key
 * registered, the moment the server pushed `identity.reset` to the person's room peers; null for
 * a key that no reset made, or whose new device has not registered yet. A device that was away
 * then asks for the resets announced since it was last connected (`identity.resets.list`); the
 * index keeps that question to the few recent resets however many accounts there are.
 */
export const identityResetTimes: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("identity_keys").addColumn("reset_at", "bigint").execute();
    await db.schema.createIndex("identity_keys_reset_at").on("identity_keys").column("reset_at").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("identity_keys_reset_at").execute();
    await db.schema.alterTable("identity_keys").dropColumn("reset_at").execute();
  },
};
