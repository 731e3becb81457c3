import { type Kysely, type MigrationResultSet, Migrator, sql } from "kysely";
import type { Storage } from "../storage.js";
import { migrationProvider } from "./index.js";

/** A migration failed; `cause` holds the database error. Nothing of that migration was kept. */
export class StorageMigrationError extends Error {
  readonly code = "STORAGE_MIGRATION_FAILED";
  constructor(
    readonly migration: string | undefined,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`database migration ${migration ?? "(setup)"} failed${reason}`, options);
    this.name = "StorageMigrationError";
  }
}

/**
 * Brings the database to the latest schema and returns the names of the migrations this call
 * applied (empty when it was already current). A failing migration throws
 * StorageMigrationError; an unreachable database throws the driver's own error.
 *
 * Safe when several server processes start at once: on PostgreSQL, Kysely's Migrator holds an
 * advisory lock and runs the migrations in one transaction; on SQLite (where Kysely does
 * neither) the whole run happens inside BEGIN IMMEDIATE, which takes the database's write lock.
 */
export async function migrate<DB>(db: Kysely<DB>, dialect: Storage["dialect"]): Promise<string[]> {
  if (dialect === "sqlite") return migrateSqlite(db);
  // Kysely looks for its bookkeeping tables in every schema unless told which one; with a
  // search_path per deployment (or per test run) it would otherwise see another schema's.
  const schema = await currentPostgresSchema(db);
  return run(new Migrator({ db, provider: migrationProvider, migrationTableSchema: schema }));
}

async function migrateSqlite<DB>(db: Kysely<DB>): Promise<string[]> {
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const applied = await run(new Migrator({ db: conn, provider: migrationProvider }));
      await sql`commit`.execute(conn);
      return applied;
    } catch (error) {
      // SQLite may already have rolled back on its own; the migration error is the one to report.
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
  });
}

async function currentPostgresSchema<DB>(db: Kysely<DB>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) {
    throw new StorageMigrationError(undefined, {
      cause: new Error("no schema on the search_path exists"),
    });
  }
  return schema;
}

async function run(migrator: Migrator): Promise<string[]> {
  const { error, results = [] }: MigrationResultSet = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === "Error");
    throw new StorageMigrationError(failed?.migrationName, { cause: error });
  }
  return results.filter((r) => r.status === "Success").map((r) => r.migrationName);
}
