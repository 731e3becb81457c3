import assert from "node:assert/strict";
import { test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { type Generated, Kysely, SqliteDialect } from "kysely";
import { withStatementCache } from "./statement-cache.js";

interface Db {
  items: { id: Generated<number>; name: string };
}

function open(size?: number) {
  const raw = new BetterSqlite3(":memory:");
  raw.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
  return { raw, cached: withStatementCache(raw, size) };
}

test("prepares a statement once per SQL text and hands the same one back", (t) => {
  const { raw, cached } = open();
  t.after(() => raw.close());
  const a = cached.prepare("SELECT name FROM items WHERE id = ?");
  assert.equal(cached.prepare("SELECT name FROM items WHERE id = ?"), a);
  assert.notEqual(cached.prepare("SELECT id FROM items WHERE name = ?"), a);
});

test("drops the oldest statement once more texts than its size were prepared", (t) => {
  const { raw, cached } = open(2);
  t.after(() => raw.close());
  const first = cached.prepare("SELECT 1");
  const second = cached.prepare("SELECT 2");
  cached.prepare("SELECT 3");
  assert.equal(cached.prepare("SELECT 2"), second);
  assert.notEqual(cached.prepare("SELECT 1"), first);
});

test("refuses a size that is not a positive integer", () => {
  const raw = new BetterSqlite3(":memory:");
  try {
    assert.throws(() => withStatementCache(raw, 0), RangeError);
    assert.throws(() => withStatementCache(raw, 1.5), RangeError);
  } finally {
    raw.close();
  }
});

test("Kysely's repeated queries, a failing one included, answer as with fresh statements", async (t) => {
  const { raw, cached } = open();
  const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: cached }) });
  t.after(() => db.destroy());
  for (const name of ["alice", "bob"]) await db.insertInto("items").values({ name }).execute();
  // A unique violation leaves the reused statement usable for the next insert.
  await assert.rejects(db.insertInto("items").values({ name: "alice" }).execute(), /UNIQUE/);
  await db.insertInto("items").values({ name: "carol" }).execute();
  const byName = (name: string) =>
    db.selectFrom("items").select("id").where("name", "=", name).executeTakeFirst();
  assert.deepEqual(await byName("bob"), { id: 2 });
  assert.deepEqual(await byName("carol"), { id: 3 });
  assert.equal(await byName("dave"), undefined);
  const rows = await db.selectFrom("items").select("name").orderBy("id").execute();
  assert.deepEqual(
    rows.map((r) => r.name),
    ["alice", "bob", "carol"],
  );
  // A transaction's begin and commit are statements of their own, reused as well.
  for (let i = 0; i < 2; i++)
    await db.transaction().execute((tx) =>
      tx
        .insertInto("items")
        .values({ name: `t${i}` })
        .execute(),
    );
  assert.deepEqual(raw.prepare("SELECT count(*) AS n FROM items").get(), { n: 5 });
});
