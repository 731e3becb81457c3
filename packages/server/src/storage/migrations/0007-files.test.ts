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

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up adds the files and file_chunks tables; down removes only them", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    for (const m of [initial, mlsDelivery, offlineQueue, identityKeys, sessionDevices, auditLog])
      await m.up(db);
    const before = await tableNames(db, dialect);
    await files.up(db);
    assert.deepEqual(await tableNames(db, dialect), [...before, "file_chunks", "files"].sort());
    await sql`insert into files (id, room_id, owner_id, type, size, length, state, created_at, expires_at)
      values ('f1', 'R', 'u1', 'text/plain', 1, 17, 'uploading', 1, 2)`.execute(db);
    await assert.rejects(
      sql`insert into files (id, room_id, owner_id, type, size, length, state, created_at, expires_at)
        values ('f2', 'R', 'u1', 'text/plain', 1, 17, 'lost', 1, 2)`.execute(db),
      "a state outside the three is refused",
    );
    await sql`insert into file_chunks (file_id, start, data) values ('f1', 0, ${new Uint8Array([1, 2, 3])})`.execute(
      db,
    );
    const row = await sql<{ data: Uint8Array }>`select data from file_chunks`.execute(db);
    assert.deepEqual([...row.rows[0]!.data], [1, 2, 3], "bytes come back as bytes");
    await files.down?.(db);
    assert.deepEqual(await tableNames(db, dialect), before);
  });
}

describe("0007-files on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0007-files on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
