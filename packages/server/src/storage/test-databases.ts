import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { DEFAULT_MIGRATION_LOCK_TABLE, DEFAULT_MIGRATION_TABLE, Kysely, SqliteDialect, sql } from "kysely";
import pg from "pg";
import type { Database } from "./database.js";
import { migrate } from "./migrations/migrate.js";
import { SchemaScopedPostgresDialect } from "./postgres-dialect.js";
import { openSqliteStorage } from "./sqlite.js";
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
  #migrated: Promise<{ schema: string; url: string }> | undefined;
  constructor(readonly baseUrl: string) {}

  /** Creates an empty schema; returns a URL whose connections use it as their search_path. */
  async create(): Promise<string> {
    return withSearchPath(this.baseUrl, await this.#createSchema());
  }

  /**
   * The URL of this object's one fully migrated schema, every table emptied. For tests that
   * need a migrated, empty database rather than a migration's own starting point: migrating
   * once and emptying the tables between tests costs far less than migrating for each test.
   * Close every storage on the schema before calling this again, or emptying it waits for
   * their locks.
   */
  async migratedEmpty(): Promise<string> {
    if (this.#migrated === undefined) {
      this.#migrated = this.#migrate();
      return (await this.#migrated).url;
    }
    const { schema, url } = await this.#migrated;
    await this.#emptyTables(schema);
    return url;
  }

  async dropAll(): Promise<void> {
    this.#migrated = undefined;
    // One schema per statement: dropping them all at once takes a lock per object in one
    // transaction, which can exhaust PostgreSQL's shared lock table for every other session.
    for (const schema of this.#created.splice(0)) {
      await this.#admin((client) => client.query(`drop schema if exists ${schema} cascade`));
    }
  }

  async #createSchema(): Promise<string> {
    const schema = `${this.#run}_${this.#created.length}`;
    await this.#admin((client) => client.query(`create schema ${schema}`));
    this.#created.push(schema);
    return schema;
  }

  async #migrate(): Promise<{ schema: string; url: string }> {
    const schema = await this.#createSchema();
    const url = withSearchPath(this.baseUrl, schema);
    const db = kyselyOn("postgres", url);
    try {
      await migrate(db, "postgres");
    } finally {
      await db.destroy();
    }
    return { schema, url };
  }

  /**
   * Deletes every row of every table of `schema` and restarts its sequences, in one
   * transaction. Tables and foreign keys come from the catalog, so a new migration's table is
   * never forgotten; Kysely's bookkeeping stays, so the schema still counts as migrated.
   * DELETE, not TRUNCATE: on tables this small, TRUNCATE (a new file for each table and index)
   * took as long as running every migration.
   */
  async #emptyTables(schema: string): Promise<void> {
    await this.#admin(async (client) => {
      const { rows: tables } = await client.query<{ name: string }>(
        `select tablename as name from pg_catalog.pg_tables where schemaname = $1 and tablename <> all($2)`,
        [schema, [DEFAULT_MIGRATION_TABLE, DEFAULT_MIGRATION_LOCK_TABLE]],
      );
      const { rows: links } = await client.query<ForeignKey>(
        `select c.relname as child, p.relname as parent
         from pg_catalog.pg_constraint k
         join pg_catalog.pg_class c on c.oid = k.conrelid
         join pg_catalog.pg_class p on p.oid = k.confrelid
         where k.contype = 'f' and k.connamespace = $1::regnamespace`,
        [schema],
      );
      const { rows: sequences } = await client.query<{ name: string }>(
        `select relname as name from pg_catalog.pg_class where relkind = 'S' and relnamespace = $1::regnamespace`,
        [schema],
      );
      const name = (relation: string) =>
        `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(relation)}`;
      const { ordered, cyclic } = referrersFirst(
        tables.map((t) => t.name),
        links,
      );
      const statements = [
        ...ordered.map((t) => `delete from ${name(t)}`),
        // Tables whose keys point at each other cannot be emptied one by one.
        ...(cyclic.length > 0 ? [`truncate table ${cyclic.map(name).join(", ")} cascade`] : []),
        ...sequences.map((q) => `alter sequence ${name(q.name)} restart`),
      ];
      await client.query(["begin", ...statements, "commit"].join(";\n"));
    });
  }

  async #admin(work: (client: pg.Client) => Promise<unknown>): Promise<void> {
    const client = new pg.Client({ connectionString: this.baseUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  }
}

interface ForeignKey {
  child: string;
  parent: string;
}

/**
 * Orders `tables` so that every table comes before the tables its foreign keys point at, which
 * lets each be emptied in turn. Tables caught in a cycle of keys, and those they point at,
 * are returned apart.
 */
function referrersFirst(tables: string[], links: ForeignKey[]): { ordered: string[]; cyclic: string[] } {
  const left = new Set(tables);
  const ordered: string[] = [];
  const referred = (t: string) => links.some((l) => l.parent === t && l.child !== t && left.has(l.child));
  for (let found = true; found; ) {
    const ready = [...left].filter((t) => !referred(t));
    for (const t of ready) left.delete(t);
    ordered.push(...ready);
    found = ready.length > 0;
  }
  return { ordered, cyclic: [...left] };
}

/**
 * SQLite database files in a temporary directory of their own. The first call migrates a
 * template file; every call returns a new copy of it, so each test has a database of its own
 * without running every migration for it. removeAll() deletes the directory.
 */
export class TestSqliteFiles {
  #dir: Promise<string> | undefined;
  #template: Promise<string> | undefined;
  #count = 0;
  constructor(readonly prefix = "parley-sqlite-") {}

  /** The path of a new, migrated, empty database file. */
  async migratedEmpty(): Promise<string> {
    this.#dir ??= mkdtemp(join(tmpdir(), this.prefix));
    const dir = await this.#dir;
    this.#template ??= openSqliteStorage(join(dir, "template.db")).then(async (storage) => {
      await storage.close();
      return join(dir, "template.db");
    });
    const file = join(dir, `${this.#count++}.db`);
    await copyFile(await this.#template, file);
    return file;
  }

  async removeAll(): Promise<void> {
    const dir = this.#dir;
    this.#dir = undefined;
    this.#template = undefined;
    if (dir !== undefined) await rm(await dir, { recursive: true, force: true });
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
