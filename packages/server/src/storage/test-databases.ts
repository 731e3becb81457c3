import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import pg from "pg";
import type { Database } from "./database.js";
import { SchemaScopedPostgresDialect } from "./postgres-dialect.js";
import { withStatementCache } from "./statement-cache.js";
import type { Storage } from "./storage.js";

// Helpers for the storage tests only; nothing in the server imports this module.

const REQUIRE_SERVICES = process.env.PARLEY_REQUIRE_SERVICES === "1";

/**
 * Defines a PostgreSQL suite over PARLEY_TEST_DATABASE_URL. Without that variable the suite is
 * skipped, unless PARLEY_REQUIRE_SERVICES=1 (CI), where a missing database is a failure.
 */
export function describePostgres(name: string, body: (url: string) => void): void {
  const url = process.env.PARLEY_TEST_DATABASE_URL;
  if (url) {
    describe(name, () => body(url));
  } else if (REQUIRE_SERVICES) {
    test(name, () => {
      assert.fail("PARLEY_REQUIRE_SERVICES=1 but PARLEY_TEST_DATABASE_URL is not set");
    });
  } else {
    describe(name, { skip: "PARLEY_TEST_DATABASE_URL is not set" }, () => undefined);
  }
}

/**
 * Throw-away schemas, one per database a test asks for, all named after one random run id so
 * that overlapping runs never meet and no other data is touched. dropAll() removes them.
 */
export class TestSchemas {
  readonly #run = `parley_test_${randomBytes(6).toString("hex")}`;
  readonly #created: string[] = [];
  constructor(readonly baseUrl: string) {}

  /** Creates an empty schema; returns a URL whose connections use it as their search_path. */
  async create(): Promise<string> {
    const schema = `${this.#run}_${this.#created.length}`;
    await this.#admin(`create schema ${schema}`);
    this.#created.push(schema);
    return withSearchPath(this.baseUrl, schema);
  }

  async dropAll(): Promise<void> {
    // One schema per statement: dropping them all at once takes a lock per object in one
    // transaction, which can exhaust PostgreSQL's shared lock table for every other session.
    for (const schema of this.#created.splice(0)) {
      await this.#admin(`drop schema if exists ${schema} cascade`);
    }
  }

  async #admin(statement: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.baseUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  }
}

export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set("options", `-c search_path=${schema}`);
  return u.href;
}

/** A bare Kysely handle, for testing migrations below the Storage layer. */
export function kyselyOn(dialect: Storage["dialect"], location: string): Kysely<Database> {
  return new Kysely<Database>({
    dialect:
      dialect === "sqlite"
        ? new SqliteDialect({ database: withStatementCache(new BetterSqlite3(location)) })
        : new SchemaScopedPostgresDialect({ pool: new pg.Pool({ connectionString: location, max: 2 }) }),
  });
}

/** The tables (Kysely's own included) in the database's current schema, sorted. */
export async function tableNames(db: Kysely<Database>, dialect: Storage["dialect"]): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  let schema: string | undefined;
  if (dialect === "postgres") {
    const { rows } = await sql<{ s: string }>`select current_schema() as s`.execute(db);
    schema = rows[0]?.s;
  }
  return tables
    .filter((t) => schema === undefined || t.schema === schema)
    .map((t) => t.name)
    .sort();
}
