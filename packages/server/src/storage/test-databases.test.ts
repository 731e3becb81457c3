// Proves that the test databases handed to each test are empty and migrated.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { after, describe, test } from "node:test";
import { type Kysely, sql } from "kysely";
import { consoleAuditEntry } from "../audit/audit-log.js";
import { asRoomId, asSessionId, asUserId } from "../domain/ids.js";
import type { Database } from "./database.js";
import { migrate } from "./migrations/migrate.js";
import { openPostgresStorage } from "./postgres.js";
import { openSqliteStorage } from "./sqlite.js";
import { describePostgres, kyselyOn, TestSchemas, TestSqliteFiles, tableNames } from "./test-databases.js";

const T0 = 1_700_000_000_000;

/** Rows per table of the current schema, Kysely's bookkeeping left out. */
async function rowCounts(db: Kysely<Database>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const name of await tableNames(db, "postgres")) {
    if (name.startsWith("kysely_")) continue;
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(name)}`.execute(db);
    counts.set(name, rows[0]?.n ?? -1);
  }
  return counts;
}

describePostgres("TestSchemas.migratedEmpty", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());

  test("empties every table between uses and leaves the migrations applied", async (t) => {
    const url = await schemas.migratedEmpty();
    const s = await openPostgresStorage(url);
    const alice = asUserId("u-alice");
    const room = asRoomId("r1");
    await s.createUser({ id: alice, username: "alice", passwordHash: "h", isAdmin: true, createdAt: T0 });
    await s.createSession({ id: asSessionId("s1"), userId: alice, createdAt: T0, expiresAt: T0 + 1 });
    await s.insertRefreshToken({
      tokenHash: "th",
      sessionId: asSessionId("s1"),
      createdAt: T0,
      expiresAt: T0 + 1,
    });
    await s.createInvite({
      id: "00000000000000a1",
      codeHash: "ch",
      createdBy: alice,
      createdAt: T0,
      expiresAt: T0 + 1,
    });
    await s.createRoom({
      id: room,
      kind: "room",
      name: "r1",
      topic: null,
      isPublic: true,
      ownerId: alice,
      pairKey: null,
      createdAt: T0,
    });
    await s.addMember(room, alice, "owner", T0);
    await s.delivery.addDevice({ userId: alice, deviceId: "phone", signatureKey: "key", createdAt: T0 });
    await s.offlineQueue.enqueue({
      to: [{ userId: alice, deviceId: "phone" }],
      message: {
        roomId: room,
        messageId: "m1",
        from: { userId: alice, username: "alice" },
        ts: T0,
        payload: "AQ",
      },
      expiresAt: T0 + 1,
      maxPerDevice: 10,
    });
    await s.audit.append(
      consoleAuditEntry({ kind: "role_changed", userId: alice, details: { isAdmin: true } }, T0),
    );
    await s.close();

    const db = kyselyOn("postgres", url);
    t.after(() => db.destroy());
    // Tables no migration made, as a later migration's would be: one whose identity must start
    // again at 1, one whose key (no cascade) needs its rows gone before the rows it points at,
    // and two whose keys point at each other.
    await sql`create table later_parent (id int generated always as identity primary key)`.execute(db);
    await sql`create table later_child (parent int not null references later_parent)`.execute(db);
    await sql`insert into later_parent default values`.execute(db);
    await sql`insert into later_child values (1)`.execute(db);
    await sql`create table cycle_a (id int primary key, b int)`.execute(db);
    await sql`create table cycle_b (id int primary key, a int references cycle_a)`.execute(db);
    await sql`alter table cycle_a add foreign key (b) references cycle_b`.execute(db);
    await sql`insert into cycle_a values (1, null)`.execute(db);
    await sql`insert into cycle_b values (1, 1)`.execute(db);
    await sql`update cycle_a set b = 1`.execute(db);

    const before = await rowCounts(db);
    for (const table of [
      "users",
      "sessions",
      "refresh_tokens",
      "invites",
      "rooms",
      "room_members",
      "devices",
      "offline_queue",
      "offline_queue_cursors",
      "audit_log",
      "later_parent",
      "later_child",
      "cycle_a",
      "cycle_b",
    ]) {
      assert.ok((before.get(table) ?? 0) > 0, `${table} has rows before the reset`);
    }

    assert.equal(await schemas.migratedEmpty(), url, "the same schema comes back");
    const afterReset = await rowCounts(db);
    assert.deepEqual([...afterReset.keys()], [...before.keys()], "no table was dropped");
    assert.deepEqual(
      [...afterReset].filter(([, n]) => n !== 0),
      [],
      "every table is empty",
    );
    await sql`insert into later_parent default values`.execute(db);
    const { rows } = await sql<{ id: number }>`select id from later_parent`.execute(db);
    assert.deepEqual(rows, [{ id: 1 }], "identities start again");
    assert.deepEqual(await migrate(db, "postgres"), [], "the schema is still fully migrated");
  });

  test("is a schema of its own, apart from the ones create() makes", async () => {
    const shared = await schemas.migratedEmpty();
    const fresh = await schemas.create();
    assert.notEqual(fresh, shared);
    assert.equal(await schemas.migratedEmpty(), shared);
  });
});

describe("TestSqliteFiles.migratedEmpty", () => {
  test("gives each call a migrated database of its own and removes them all", async (t) => {
    const files = new TestSqliteFiles();
    t.after(() => files.removeAll());
    const first = await files.migratedEmpty();
    const s = await openSqliteStorage(first);
    await s.createUser({
      id: asUserId("u1"),
      username: "alice",
      passwordHash: "h",
      isAdmin: false,
      createdAt: T0,
    });
    await s.close();

    const second = await files.migratedEmpty();
    assert.notEqual(second, first);
    const db = kyselyOn("sqlite", second);
    try {
      assert.deepEqual(await migrate(db, "sqlite"), [], "already migrated");
      const { rows } = await sql<{ n: number }>`select count(*) as n from users`.execute(db);
      assert.deepEqual(rows, [{ n: 0 }], "another test's rows are not in it");
    } finally {
      await db.destroy();
    }

    await files.removeAll();
    assert.equal(existsSync(dirname(first)), false);
  });
});
