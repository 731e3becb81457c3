import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas, tableNames } from "../test-databases.js";
import { initial } from "./0001-initial.js";
import { mlsDelivery } from "./0002-mls-delivery.js";
import { offlineQueue } from "./0003-offline-queue.js";

const QUEUE_TABLES = ["offline_queue", "offline_queue_cursors"];

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up adds the queue tables on top of 0002 and down removes only them", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    await initial.up(db);
    await mlsDelivery.up(db);
    const before = await tableNames(db, dialect);
    await offlineQueue.up(db);
    assert.deepEqual(await tableNames(db, dialect), [...before, ...QUEUE_TABLES].sort());
    await offlineQueue.down?.(db);
    assert.deepEqual(await tableNames(db, dialect), before);
  });

  test("keeps the ciphertext as bytes, and a deleted user takes their queue along", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    if (dialect === "sqlite") await sql`pragma foreign_keys = on`.execute(db);
    await initial.up(db);
    await mlsDelivery.up(db);
    await offlineQueue.up(db);
    await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
      values ('u1', 'u1', 'u1', 'x', 0, 0, 1)`.execute(db);
    await sql`insert into rooms (id, kind, name, topic, is_public, owner_id, pair_key, created_at)
      values ('R1', 'room', 'r', null, 0, 'u1', null, 1)`.execute(db);
    await sql`insert into devices (user_id, device_id, signature_key, next_seq, created_at)
      values ('u1', 'd1', 'KEY', 0, 1)`.execute(db);
    const bytes = Buffer.from([0, 1, 2, 255]);
    await sql`insert into offline_queue (user_id, device_id, seq, room_id, message_id, from_user_id,
      from_username, ts, payload, payload_encoding, expires_at)
      values ('u1', 'd1', 1, 'R1', 'm1', 'u1', 'u1', 1, ${bytes}, 'base64', 2)`.execute(db);
    const row = await sql<{ payload: Uint8Array }>`select payload from offline_queue`.execute(db);
    assert.deepEqual(Buffer.from(row.rows[0]?.payload ?? []), bytes);
    await assert.rejects(
      sql`insert into offline_queue (user_id, device_id, seq, room_id, message_id, from_user_id,
        from_username, ts, payload, payload_encoding, expires_at)
        values ('u1', 'd1', 2, 'R1', 'm2', 'u1', 'u1', 1, ${bytes}, 'hex', 2)`.execute(db),
    );
    await sql`delete from users where id = 'u1'`.execute(db);
    const left = await sql<{ n: number | string }>`select count(*) as n from offline_queue`.execute(db);
    assert.equal(Number(left.rows[0]?.n), 0);
  });
}

describe("0003-offline-queue on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0003-offline-queue on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
