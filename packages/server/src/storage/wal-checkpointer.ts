/** Runs SQLite's write-ahead-log checkpoints on a worker thread, so their fsyncs never stall the event loop. */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Database } from "better-sqlite3";

/** How often the worker looks at the log's length. */
export const CHECKPOINT_INTERVAL_MS = 100;
/** SQLite's own default: the log's length in pages that makes a checkpoint (here or, as a fallback, in the server's connection). */
export const AUTOCHECKPOINT_PAGES = 1000;

/**
 * The worker's code, plain CommonJS run with `eval`: Node 20 does not run the parent's `--import`
 * loader for a worker's entry module, so a TypeScript file of its own would not start from the
 * sources. Every interval it reads how many frames of the log are not yet in the database from
 * the wal-index header in the -shm file (https://www.sqlite.org/walformat.html §2.1: mxFrame at
 * byte 16, nBackfill at byte 96, native byte order) and checkpoints once that reaches `pages`:
 * after a complete checkpoint the next write restarts the log and syncs its header, on the
 * server's connection, so checkpointing more often than SQLite did would add fsyncs to the event
 * loop rather than take them off. The log is synced before the copy and the database after it
 * (synchronous=NORMAL), as the server's connection did. PASSIVE never waits for the server's
 * connection and never makes it wait (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html). A
 * failure ends the thread, and the server's connection then checkpoints by itself.
 */
const WORKER_SOURCE = `
const { openSync, readSync, closeSync } = require("node:fs");
const { endianness } = require("node:os");
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 5000 });
db.pragma("synchronous = NORMAL");
// Also opens the -shm file, which exists while a connection is open.
db.pragma("wal_checkpoint(PASSIVE)");
const shm = openSync(workerData.file + "-shm", "r");
const header = Buffer.alloc(100);
const u32 = endianness() === "LE" ? (at) => header.readUInt32LE(at) : (at) => header.readUInt32BE(at);
const timer = setInterval(() => {
  if (readSync(shm, header, 0, 100, 0) < 100) return;
  if (u32(16) - u32(96) >= workerData.pages) db.pragma("wal_checkpoint(PASSIVE)");
}, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message !== "stop") return;
  clearInterval(timer);
  closeSync(shm);
  db.close();
  Atomics.store(workerData.closed, 0, 1);
  Atomics.notify(workerData.closed, 0);
  parentPort.close();
});
`;

/** How long `stop` waits for the worker's connection to close. */
const STOP_TIMEOUT_MS = 5000;

export interface WalCheckpointer {
  /**
   * Ends the worker and waits (up to 5 s) for its connection to close, so that the server's
   * connection, closed next, is the last one: SQLite then checkpoints and removes the log before
   * the close returns, and nothing touches the files afterwards. Call before closing.
   */
  stop(): void;
}

/**
 * SQLite checkpoints automatically in the connection whose commit takes the log past 1000 pages
 * (https://www.sqlite.org/wal.html#automatic_checkpoint), so once in every few hundred writes a
 * request's insert copied the log into the database and waited for two or three fsyncs, on the
 * event loop: strace of a burst of 50 logins showed 2-40 ms per fsync, up to 70 ms a checkpoint,
 * every chat message waiting behind it (issue 16's login storm). Here the server's connection
 * never checkpoints (wal_autocheckpoint=0) and a worker thread with a connection of its own runs
 * a PASSIVE checkpoint once the log holds `pages` (1000) frames not yet copied, which copies what
 * it can without waiting for, or blocking, the server's reads and writes. The server's
 * connection keeps one fsync per checkpoint (the log's header at its restart) of the three. Should the worker fail to start or die, the
 * server's connection checkpoints automatically again, so the log never grows without bound.
 */
export function checkpointOffThread(
  db: Database,
  file: string,
  intervalMs = CHECKPOINT_INTERVAL_MS,
  pages = AUTOCHECKPOINT_PAGES,
): WalCheckpointer {
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new RangeError("intervalMs must be an integer >= 1");
  if (!Number.isInteger(pages) || pages < 1) throw new RangeError("pages must be an integer >= 1");
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const closed = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, file, intervalMs, pages, closed },
    execArgv: [],
  });
  // Never what keeps the process running.
  worker.unref();
  db.pragma("wal_autocheckpoint = 0");
  let stopped = false;
  let ended = false;
  const fallBack = () => {
    ended = true;
    if (!stopped && db.open) db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  };
  worker.on("error", fallBack);
  worker.on("exit", fallBack);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (ended) return;
      worker.postMessage("stop");
      // A close is synchronous (Kysely's driver does not wait for it), so this waits likewise.
      Atomics.wait(closed, 0, 0, STOP_TIMEOUT_MS);
    },
  };
}
