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

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up adds the audit log, which outlives accounts; down removes only it", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    for (const m of [initial, mlsDelivery, offlineQueue, identityKeys, sessionDevices]) await m.up(db);
    const before = await tableNames(db, dialect);
    await auditLog.up(db);
    assert.deepEqual(await tableNames(db, dialect), [...before, "audit_log"].sort());
    // No foreign key: an entry may name an account that no longer exists.
    await sql`insert into audit_log (id, at, kind, node, user_id, details)
      values ('000000000001000000000000', 1700000000000, 'account_deleted', 'n1', 'gone', '{}')`.execute(db);
    const rows = await sql<{ at: number | string }>`select at from audit_log`.execute(db);
    assert.equal(Number(rows.rows[0]?.at), 1_700_000_000_000);
    await assert.rejects(
      sql`insert into audit_log (id, at, kind, node, details)
        values ('000000000001000000000000', 1, 'login_failed', 'n1', '{}')`.execute(db),
      "ids are unique",
    );
    await auditLog.down?.(db);
    assert.deepEqual(await tableNames(db, dialect), before);
  });
}

describe("0006-audit-log on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0006-audit-log on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
