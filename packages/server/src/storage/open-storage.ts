import { openPostgresStorage } from "./postgres.js";
import { openSqliteStorage } from "./sqlite.js";
import type { Storage } from "./storage.js";

export interface OpenStorageOptions {
  /** DATABASE_URL; PostgreSQL is used when it is a postgres:// or postgresql:// URL. */
  databaseUrl?: string;
  /** The SQLite database file (in the data dir), used otherwise. */
  sqliteFile: string;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** Opens the configured backend, migrated to the latest schema. */
export function openStorage(options: OpenStorageOptions): Promise<Storage> {
  const { databaseUrl, sqliteFile } = options;
  if (databaseUrl !== undefined && POSTGRES_URL.test(databaseUrl)) return openPostgresStorage(databaseUrl);
  return openSqliteStorage(sqliteFile);
}
