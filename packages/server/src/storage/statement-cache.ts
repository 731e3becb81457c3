/** Keeps better-sqlite3's prepared statements for Kysely's SQLite driver, one per distinct SQL text. */
import type { Database as BetterSqlite3Database, Statement } from "better-sqlite3";
import type { SqliteDatabase } from "kysely";

/** Distinct SQL texts kept; the oldest is dropped past it (a query with a varying IN list). */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every query again (`db.prepare(sql)` per execution), and
 * SQLite's statement compiler was a tenth of a login's event-loop time (issue 16's login storm).
 * A statement is reusable once it has run, and the driver runs one query at a time on its single
 * connection (a mutex), a stream holding it until the end, so one statement per SQL text is safe.
 */
export function withStatementCache(db: BetterSqlite3Database, size = STATEMENT_CACHE_SIZE): SqliteDatabase {
  if (!Number.isInteger(size) || size < 1) throw new RangeError("size must be an integer >= 1");
  const statements = new Map<string, Statement>();
  return {
    close: () => db.close(),
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = db.prepare(sql);
        if (statements.size >= size) {
          const oldest = statements.keys().next();
          if (!oldest.done) statements.delete(oldest.value);
        }
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
