import type { Kysely, Migration } from "kysely";

/*
 * Device removal (IDENT-5) ends the removed device's sessions and refresh tokens, so a session
 * records the device that last authenticated a socket with it. Sessions from before this
 * migration, and those that never opened a device socket, name none.
 */
export const sessionDevices: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("sessions").addColumn("device_id", "text").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("sessions").dropColumn("device_id").execute();
  },
};
