import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas } from "../test-databases.js";
import { initial } from "./0001-initial.js";
import { mlsDelivery } from "./0002-mls-delivery.js";
import { offlineQueue } from "./0003-offline-queue.js";
import { identityKeys } from "./0004-identity-keys.js";
import { sessionDevices } from "./0005-session-devices.js";
import { auditLog } from "./0006-audit-log.js";
import { files } from "./0007-files.js";
import { recoveryCodes } from "./0008-recovery-codes.js";
import { roomSettings } from "./0009-room-settings.js";

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up adds a cap, a passphrase hash and a moderator flag that old rows lack; down removes them", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    for (const m of [
      initial,
      mlsDelivery,
      offlineQueue,
      identityKeys,
      sessionDevices,
      auditLog,
      files,
      recoveryCodes,
    ])
      await m.up(db);
    await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
      values ('u1', 'u1', 'u1', 'x', 0, 0, 1)`.execute(db);
    await sql`insert into rooms (id, kind, name, topic, is_public, owner_id, pair_key, created_at)
      values ('R00001', 'room', 'old', null, 1, 'u1', null, 1)`.execute(db);
    await sql`insert into room_members (room_id, user_id, role, joined_at) values ('R00001', 'u1', 'owner', 1)`.execute(
      db,
    );
    await roomSettings.up(db);
    const room = await sql<{ max_members: number | null; passphrase_hash: string | null }>`
      select max_members, passphrase_hash from rooms`.execute(db);
    assert.deepEqual(room.rows, [{ max_members: null, passphrase_hash: null }]);
    const member = await sql<{ is_moderator: number }>`select is_moderator from room_members`.execute(db);
    assert.equal(Number(member.rows[0]?.is_moderator), 0);
    await sql`update rooms set max_members = 5, passphrase_hash = 'h'`.execute(db);
    await roomSettings.down?.(db);
    await assert.rejects(sql`select max_members from rooms`.execute(db));
    await assert.rejects(sql`select is_moderator from room_members`.execute(db));
  });
}

describe("0009-room-settings on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0009-room-settings on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
