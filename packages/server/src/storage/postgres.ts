import { Kysely } from "kysely";
import pg from "pg";
import type { Database } from "./database.js";
import { KyselyStorage } from "./kysely-storage.js";
import { migrate } from "./migrations/migrate.js";
import { SchemaScopedPostgresDialect } from "./postgres-dialect.js";

export interface PostgresStorageOptions {
  /** Most connections the pool opens. Default 10. */
  maxConnections?: number;
  /** How long to wait for a connection (TCP, TLS and login) before failing. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** How long an unused connection stays open. Default 30000 ms. */
  idleTimeoutMs?: number;
  /**
   * Told about errors on idle connections (the server restarted, the network dropped). The
   * pool replaces such a connection by itself. Default: ignore them; the next query fails
   * and /readyz reports it through ping().
   */
  onIdleError?: (error: Error) => void;
}

const defaults: Required<PostgresStorageOptions> = {
  maxConnections: 10,
  connectTimeoutMs: 5000,
  idleTimeoutMs: 30_000,
  onIdleError: () => undefined,
};

/**
 * Opens a connection pool to `url` (postgres:// or postgresql://; the schema comes from the
 * search_path, which the URL can set with `options=-c search_path=...`) and brings the database
 * to the latest schema. Fails within connectTimeoutMs when the server is unreachable.
 */
export async function openPostgresStorage(
  url: string,
  options: PostgresStorageOptions = {},
): Promise<KyselyStorage> {
  const o = { ...defaults, ...options };
  const pool = new pg.Pool({
    connectionString: url,
    max: o.maxConnections,
    connectionTimeoutMillis: o.connectTimeoutMs,
    idleTimeoutMillis: o.idleTimeoutMs,
    application_name: "parley",
    types: { getTypeParser },
  });
  // Without a listener, an error on an idle connection would crash the process.
  pool.on("error", o.onIdleError);
  const db = new Kysely<Database>({ dialect: new SchemaScopedPostgresDialect({ pool }) });
  try {
    await migrate(db, "postgres");
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new KyselyStorage(db, "postgres");
}

// pg returns int8 as a string so as not to lose precision; our int8 columns hold millisecond
// times and counts, all far below 2^53, so they become numbers. Set per pool, not on the
// global pg.types, so that no other pg user in the process is affected.
const parseInt8 = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} is not a safe integer`);
  return n;
};

const getTypeParser = ((oid: number, format?: "text" | "binary") =>
  oid === pg.types.builtins.INT8 && format !== "binary"
    ? parseInt8
    : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser;
