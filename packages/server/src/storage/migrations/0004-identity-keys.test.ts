import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas, tableNames } from "../test-databases.js";
import { initial } from "./0001-initial.js";
import { mlsDelivery } from "./0002-mls-delivery.js";
import { offlineQueue } from "./0003-offline-queue.js";
import { identityKeys } from "./0004-identity-keys.js";

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up adds identity keys, revocations and a certificate column; down removes only them", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    await initial.up(db);
    await mlsDelivery.up(db);
    await offlineQueue.up(db);
    const before = await tableNames(db, dialect);
    await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
      values ('u1', 'u1', 'u1', 'x', 0, 0, 1)`.execute(db);
    await sql`insert into devices (user_id, device_id, signature_key, next_seq, created_at)
      values ('u1', 'old', 'KEY0', 0, 1)`.execute(db);
    await identityKeys.up(db);
    assert.deepEqual(
      await tableNames(db, dialect),
      [...before, "device_revocations", "identity_keys"].sort(),
    );
    // A device from before the migration has no certificate.
    const old = await sql<{ certificate: string | null }>`select certificate from devices`.execute(db);
    assert.equal(old.rows[0]?.certificate, null);
    await sql`insert into identity_keys (user_id, identity_key, created_at) values ('u1', 'IK', 1)`.execute(
      db,
    );
    await assert.rejects(
      sql`insert into identity_keys (user_id, identity_key, created_at) values ('u1', 'IK2', 2)`.execute(db),
      "one identity key per account",
    );
    await identityKeys.down?.(db);
    assert.deepEqual(await tableNames(db, dialect), before);
  });
}

describe("0004-identity-keys on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0004-identity-keys on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
