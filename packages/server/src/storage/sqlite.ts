import { open } from "node:fs/promises";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { Database } from "./database.js";
import { KyselyStorage } from "./kysely-storage.js";
import { migrate } from "./migrations/migrate.js";
import { withStatementCache } from "./statement-cache.js";
import { checkpointOffThread, type WalCheckpointer } from "./wal-checkpointer.js";

const MEMORY = ":memory:";

/**
 * Opens (creating if needed) the SQLite database in `file`, or a private in-memory one for
 * ":memory:", and brings it to the latest schema.
 *
 * Pragmas: journal_mode=WAL (readers never block the writer), synchronous=NORMAL (durable at
 * every checkpoint, the recommended pairing with WAL), foreign_keys=ON (SQLite's default is
 * off), busy_timeout=5000 ms (another process holding the write lock makes us wait, not fail).
 * Statements are prepared once per SQL text (statement-cache.ts), and a file's checkpoints run
 * on a worker thread, off the event loop (wal-checkpointer.ts).
 */
export async function openSqliteStorage(file: string): Promise<KyselyStorage> {
  if (file !== MEMORY) await createPrivately(file);
  const sqlite = new BetterSqlite3(file, { timeout: 5000 });
  try {
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
  } catch (error) {
    sqlite.close();
    throw error;
  }
  const statements = withStatementCache(sqlite);
  let checkpoints: WalCheckpointer | undefined;
  const database = {
    prepare: (sql: string) => statements.prepare(sql),
    close: () => {
      checkpoints?.stop();
      statements.close();
    },
  };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  try {
    await migrate(db, "sqlite");
  } catch (error) {
    await db.destroy();
    throw error;
  }
  if (file !== MEMORY) checkpoints = checkpointOffThread(sqlite, file);
  return new KyselyStorage(db, "sqlite");
}

/**
 * The database holds password hashes and token hashes, so it is created readable by its owner
 * only; SQLite gives the -wal and -shm files the main file's mode. An existing file keeps the
 * mode its operator gave it.
 */
async function createPrivately(file: string): Promise<void> {
  const handle = await open(file, "a", 0o600);
  await handle.close();
}
