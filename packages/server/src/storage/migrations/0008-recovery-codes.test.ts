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
import { auditLog } from "./0006-audit-log.js";
import { files } from "./0007-files.js";
import { recoveryCodes } from "./0008-recovery-codes.js";

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up adds recovery codes that go with their account; down removes only them", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    if (dialect === "sqlite") await sql`pragma foreign_keys = on`.execute(db);
    for (const m of [initial, mlsDelivery, offlineQueue, identityKeys, sessionDevices, auditLog, files])
      await m.up(db);
    const before = await tableNames(db, dialect);
    await recoveryCodes.up(db);
    assert.deepEqual(await tableNames(db, dialect), [...before, "recovery_codes"].sort());
    await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
      values ('u1', 'u1', 'u1', 'x', 0, 0, 1)`.execute(db);
    await sql`insert into recovery_codes (code_hash, user_id, kind, created_by, created_at, expires_at)
      values ('h1', 'u1', 'reset', 'admin', 1, 1700000000000)`.execute(db);
    await assert.rejects(
      sql`insert into recovery_codes (code_hash, user_id, kind, created_by, created_at)
        values ('h2', 'nobody', 'recovery', 'nobody', 1)`.execute(db),
      "a code for no account",
    );
    await sql`delete from users where id = 'u1'`.execute(db);
    const left = await sql<{ n: number | string }>`select count(*) as n from recovery_codes`.execute(db);
    assert.equal(Number(left.rows[0]?.n), 0);
    await recoveryCodes.down?.(db);
    assert.deepEqual(await tableNames(db, dialect), before);
  });
}

describe("0008-recovery-codes on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0008-recovery-codes on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
