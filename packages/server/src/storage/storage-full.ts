/**
 * Tells a write that failed for want of disk space from any other failure, whichever backend
 * made it: the client is then told so with `storage_full` (nothing was saved), and the operator
 * gets an error line, instead of an `internal_error` that looks like a bug.
 */

// better-sqlite3 puts the (extended) result code in `code`: SQLITE_FULL, "database or disk is full".
const SQLITE_FULL = /^SQLITE_FULL/;
// PostgreSQL SQLSTATE disk_full (Appendix A, class 53: insufficient resources).
const PG_DISK_FULL = "53100";

export function isStorageFull(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === "object" && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (SQLITE_FULL.test(code) || code === PG_DISK_FULL || code === "ENOSPC"))
      return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
