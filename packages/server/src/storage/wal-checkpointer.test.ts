import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { AUTOCHECKPOINT_PAGES, checkpointOffThread } from "./wal-checkpointer.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 50 ms for up to 10 s (a loaded machine starts a worker slowly). */
async function eventually(check: () => Promise<boolean> | boolean): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

function openWal(file: string) {
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  return db;
}

const autocheckpoint = (db: BetterSqlite3.Database) => db.pragma("wal_autocheckpoint", { simple: true });

describe("checkpointOffThread", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-wal-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("the worker copies the log into the database; the server's connection never checkpoints", async (t) => {
    const file = join(dir, "copied.db");
    const db = openWal(file);
    const checkpoints = checkpointOffThread(db, file, 50, 100);
    t.after(() => {
      checkpoints.stop();
      db.close();
    });
    assert.equal(autocheckpoint(db), 0);
    const before = (await stat(file)).size;
    const insert = db.prepare("INSERT INTO notes (body) VALUES (?)");
    // 2 MB of rows: past the 100 pages asked for, and past SQLite's own 1000.
    for (let i = 0; i < 500; i++) insert.run("x".repeat(4000));
    assert.ok(
      await eventually(async () => (await stat(file)).size > before + 1_000_000),
      "the database file never received the log's pages",
    );
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM notes").get(), { n: 500 });
  });

  test("a worker that cannot open the database hands checkpoints back to the connection", async (t) => {
    const file = join(dir, "fallback.db");
    const db = openWal(file);
    t.after(() => db.close());
    const checkpoints = checkpointOffThread(db, join(dir, "no-such-dir", "x.db"), 50);
    t.after(() => checkpoints.stop());
    assert.ok(
      await eventually(() => autocheckpoint(db) === AUTOCHECKPOINT_PAGES),
      "the connection was left without checkpoints",
    );
  });

  test("stop ends the worker and its connection; the database closes and reopens whole", async () => {
    const file = join(dir, "stopped.db");
    const db = openWal(file);
    const checkpoints = checkpointOffThread(db, file, 50);
    db.prepare("INSERT INTO notes (body) VALUES (?)").run("kept");
    checkpoints.stop();
    checkpoints.stop();
    db.close();
    const again = new BetterSqlite3(file, { readonly: true });
    try {
      assert.deepEqual(again.prepare("SELECT body FROM notes").all(), [{ body: "kept" }]);
    } finally {
      again.close();
    }
  });

  test("refuses an interval that is not a positive integer", (t) => {
    const db = new BetterSqlite3(":memory:");
    t.after(() => db.close());
    assert.throws(() => checkpointOffThread(db, ":memory:", 0), RangeError);
    assert.throws(() => checkpointOffThread(db, ":memory:", 100, 0), RangeError);
  });
});
