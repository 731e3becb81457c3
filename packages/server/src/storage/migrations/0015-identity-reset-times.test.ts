import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas } from "../test-databases.js";
import { initial } from "./0001-initial.js";
import { mlsDelivery } from "./0002-mls-delivery.js";
import { identityKeys } from "./0004-identity-keys.js";
import { identityResetTimes } from "./0015-identity-reset-times.js";

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up gives identity keys a reset time, none for keys bound before it; down removes it", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    await initial.up(db);
    await mlsDelivery.up(db);
    await identityKeys.up(db);
    await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
      values ('u1', 'u1', 'u1', 'x', 0, 0, 1), ('u2', 'u2', 'u2', 'x', 0, 0, 1)`.execute(db);
    await sql`insert into identity_keys (user_id, identity_key, created_at) values ('u1', 'IK', 1)`.execute(
      db,
    );
    await identityResetTimes.up(db);
    const old = await sql<{ reset_at: number | null }>`select reset_at from identity_keys`.execute(db);
    assert.deepEqual(old.rows, [{ reset_at: null }], "no key bound before the migration was a reset");
    // Past 2^32 ms: the column holds a whole time.
    await sql`insert into identity_keys (user_id, identity_key, created_at, reset_at)
      values ('u2', 'IK2', 2, 1700000000000)`.execute(db);
    const since = await sql<{ user_id: string }>`
      select user_id from identity_keys where reset_at >= ${1_699_999_999_999}`.execute(db);
    assert.deepEqual(since.rows, [{ user_id: "u2" }]);
    await identityResetTimes.down?.(db);
    await assert.rejects(sql`select reset_at from identity_keys`.execute(db));
    const kept = await sql<{ user_id: string }>`select user_id from identity_keys order by user_id`.execute(
      db,
    );
    assert.deepEqual(kept.rows, [{ user_id: "u1" }, { user_id: "u2" }], "down keeps the keys");
  });
}

describe("0015-identity-reset-times on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0015-identity-reset-times on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
