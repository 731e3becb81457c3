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
import { accountSelfService } from "./0010-account-self-service.js";

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up keeps old sessions (with no details), adds blocks, bans and retired names that go with their user or room; down removes them", async (t) => {
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
      roomSettings,
    ])
      await m.up(db);
    await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
      values ('u1', 'u1', 'u1', 'x', 0, 0, 1), ('u2', 'u2', 'u2', 'x', 0, 0, 1)`.execute(db);
    await sql`insert into sessions (id, user_id, created_at, expires_at, revoked_at) values ('s1', 'u1', 1, 2, null)`.execute(
      db,
    );
    await sql`insert into rooms (id, kind, name, topic, is_public, owner_id, pair_key, created_at)
      values ('R00001', 'room', 'r', null, 1, 'u1', null, 1)`.execute(db);
    await accountSelfService.up(db);
    const session = await sql<{ user_agent: string | null; ip: string | null; last_seen_at: number | null }>`
      select user_agent, ip, last_seen_at from sessions`.execute(db);
    assert.deepEqual(session.rows, [{ user_agent: null, ip: null, last_seen_at: null }]);
    await sql`insert into user_blocks (blocker_id, blocked_id, created_at) values ('u1', 'u2', 5)`.execute(
      db,
    );
    await sql`insert into room_bans (room_id, user_id, banned_by, created_at) values ('R00001', 'u2', 'u1', 5)`.execute(
      db,
    );
    await sql`insert into retired_usernames (username_key, retired_at) values ('gone', 5)`.execute(db);
    await assert.rejects(
      sql`insert into retired_usernames (username_key, retired_at) values ('gone', 6)`.execute(db),
    );
    if (dialect === "sqlite") await sql`pragma foreign_keys = on`.execute(db);
    await sql`delete from users where id = 'u2'`.execute(db);
    const left = await sql<{ n: number | string }>`
      select (select count(*) from user_blocks) + (select count(*) from room_bans) as n`.execute(db);
    assert.equal(Number(left.rows[0]?.n), 0);
    await accountSelfService.down?.(db);
    await assert.rejects(sql`select last_seen_at from sessions`.execute(db));
    await assert.rejects(sql`select * from user_blocks`.execute(db));
    await assert.rejects(sql`select * from retired_usernames`.execute(db));
  });
}

describe("0010-account-self-service on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0010-account-self-service on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
