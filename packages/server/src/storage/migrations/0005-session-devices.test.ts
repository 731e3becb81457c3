import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas, tableNames } from "../test-databases.js";
import { initial } from "./0001-initial.js";
import { mlsDelivery } from "./0002-mls-delivery.js";
import { offlineQueue } from "./0003-offline-queue.js";
import { identityKeys } from "./0004-identity-keys.js";
import { sessionDevices } from "./0005-session-devices.js";

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up adds a device column to sessions, empty for old ones; down removes it", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    for (const m of [initial, mlsDelivery, offlineQueue, identityKeys]) await m.up(db);
    const before = await tableNames(db, dialect);
    await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
      values ('u1', 'u1', 'u1', 'x', 0, 0, 1)`.execute(db);
    await sql`insert into sessions (id, user_id, created_at, expires_at) values ('s1', 'u1', 1, 2)`.execute(
      db,
    );
    await sessionDevices.up(db);
    assert.deepEqual(await tableNames(db, dialect), before);
    const old = await sql<{ device_id: string | null }>`select device_id from sessions`.execute(db);
    assert.equal(old.rows[0]?.device_id, null);
    await sql`update sessions set device_id = 'phone' where id = 's1'`.execute(db);
    await sessionDevices.down?.(db);
    await assert.rejects(sql`select device_id from sessions`.execute(db), "the column is gone");
  });
}

describe("0005-session-devices on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0005-session-devices on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
