import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { asUserId } from "../domain/ids.js";
import { openSqliteStorage } from "./sqlite.js";

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("openSqliteStorage", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-sqlite-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("creates the database file, and its write-ahead log, readable by the owner only", async (t) => {
    const file = join(dir, "private.db");
    const storage = await openSqliteStorage(file);
    t.after(() => storage.close());
    await storage.createUser({
      id: asUserId("u1"),
      username: "alice",
      passwordHash: "h",
      isAdmin: false,
      createdAt: 1,
    });
    assert.equal(await modeOf(file), 0o600);
    assert.equal(await modeOf(`${file}-wal`), 0o600);
  });

  test("puts the database in WAL mode", async () => {
    const file = join(dir, "wal.db");
    await (await openSqliteStorage(file)).close();
    const raw = new BetterSqlite3(file, { readonly: true });
    try {
      assert.equal(raw.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      raw.close();
    }
  });

  test("opens private in-memory databases for :memory:", async (t) => {
    const one = await openSqliteStorage(":memory:");
    const two = await openSqliteStorage(":memory:");
    t.after(() => Promise.all([one.close(), two.close()]));
    await one.createUser({
      id: asUserId("u1"),
      username: "alice",
      passwordHash: "h",
      isAdmin: false,
      createdAt: 1,
    });
    assert.equal(await one.countUsers(), 1);
    assert.equal(await two.countUsers(), 0);
  });

  test("refuses a file that is not a SQLite database", async () => {
    const file = join(dir, "not-a-db");
    await writeFile(file, "this is not a database, it is a plain text file of some length".repeat(20));
    await assert.rejects(openSqliteStorage(file));
  });
});
