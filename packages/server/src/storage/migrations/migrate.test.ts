import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import { type Kysely, sql } from "kysely";
import type { Database } from "../database.js";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas, tableNames, withSearchPath } from "../test-databases.js";
import { migrations } from "./index.js";
import { migrate, StorageMigrationError } from "./migrate.js";

const SCHEMA_TABLES = [
  "audit_log",
  "device_revocations",
  "devices",
  "file_chunks",
  "files",
  "handshake_queue",
  "identity_keys",
  "invites",
  "key_packages",
  "login_challenges",
  "mls_group_devices",
  "mls_groups",
  "offline_queue",
  "offline_queue_cursors",
  "recovery_codes",
  "refresh_tokens",
  "retired_usernames",
  "room_bans",
  "room_invites",
  "room_members",
  "rooms",
  "sessions",
  "subscriptions",
  "totp_factors",
  "user_blocks",
  "users",
];
const ALL_TABLES = [...SCHEMA_TABLES, "kysely_migration", "kysely_migration_lock"].sort();
const ALL_MIGRATIONS = Object.keys(migrations).sort();

function migrationSuite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  async function empty(t: TestContext): Promise<Kysely<Database>> {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    return db;
  }

  test("creates every table on an empty database", async (t) => {
    const db = await empty(t);
    assert.deepEqual(await migrate(db, dialect), ALL_MIGRATIONS);
    assert.deepEqual(await tableNames(db, dialect), ALL_TABLES);
  });

  test("applies nothing when run a second time", async (t) => {
    const db = await empty(t);
    await migrate(db, dialect);
    assert.deepEqual(await migrate(db, dialect), []);
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    assert.deepEqual(
      rows.rows.map((r) => r.name),
      ALL_MIGRATIONS,
    );
  });

  test("keeps nothing of a migration that fails, and succeeds once the cause is gone", async (t) => {
    const db = await empty(t);
    // A stray table of the same name makes 0001's CREATE TABLE users fail half-way through.
    await sql`create table users (x integer)`.execute(db);
    await assert.rejects(
      migrate(db, dialect),
      (e) => e instanceof StorageMigrationError && e.migration === "0001-initial",
    );
    const left = await tableNames(db, dialect);
    assert.ok(!left.includes("sessions"), `no table of the failed migration remains: ${left}`);
    await sql`drop table users`.execute(db);
    assert.deepEqual(await migrate(db, dialect), ALL_MIGRATIONS);
  });
}

describe("migrate on SQLite", () => migrationSuite("sqlite", async () => ":memory:"));

describePostgres("migrate on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());

  migrationSuite("postgres", () => schemas.create());

  test("lets two servers migrate one database at the same time", async (t) => {
    const url = await schemas.create();
    const dbs = [kyselyOn("postgres", url), kyselyOn("postgres", url)];
    t.after(() => Promise.all(dbs.map((db) => db.destroy())));
    const applied = await Promise.all(dbs.map((db) => migrate(db, "postgres")));
    assert.deepEqual(applied.map((a) => a.join()).sort(), ["", ALL_MIGRATIONS.join()]);
    assert.deepEqual(await tableNames(dbs[0]!, "postgres"), ALL_TABLES);
  });

  test("refuses to run when no schema on the search_path exists", async (t) => {
    const db = kyselyOn("postgres", withSearchPath(baseUrl, "parley_test_does_not_exist"));
    t.after(() => db.destroy());
    await assert.rejects(
      migrate(db, "postgres"),
      (e) => e instanceof StorageMigrationError && e.code === "STORAGE_MIGRATION_FAILED",
    );
  });
});
