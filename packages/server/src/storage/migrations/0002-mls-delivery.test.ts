import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas, tableNames } from "../test-databases.js";
import { initial } from "./0001-initial.js";
import { mlsDelivery } from "./0002-mls-delivery.js";

const MLS_TABLES = ["devices", "handshake_queue", "key_packages", "mls_group_devices", "mls_groups"];

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up adds the delivery-service tables on top of 0001 and down removes only them", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    await initial.up(db);
    const before = await tableNames(db, dialect);
    await mlsDelivery.up(db);
    assert.deepEqual(await tableNames(db, dialect), [...before, ...MLS_TABLES].sort());
    await mlsDelivery.down?.(db);
    assert.deepEqual(await tableNames(db, dialect), before);
  });

  test("a signature key belongs to one device only, and a deleted user takes its devices along", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    if (dialect === "sqlite") await sql`pragma foreign_keys = on`.execute(db);
    await initial.up(db);
    await mlsDelivery.up(db);
    for (const id of ["u1", "u2"]) {
      await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
        values (${id}, ${id}, ${id}, 'x', 0, 0, 1)`.execute(db);
    }
    await sql`insert into devices (user_id, device_id, signature_key, next_seq, created_at)
      values ('u1', 'd1', 'KEY', 0, 1)`.execute(db);
    await assert.rejects(
      sql`insert into devices (user_id, device_id, signature_key, next_seq, created_at)
        values ('u2', 'd9', 'KEY', 0, 1)`.execute(db),
    );
    await sql`delete from users where id = 'u1'`.execute(db);
    const left = await sql<{ n: number | string }>`select count(*) as n from devices`.execute(db);
    assert.equal(Number(left.rows[0]?.n), 0);
  });
}

describe("0002-mls-delivery on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0002-mls-delivery on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
