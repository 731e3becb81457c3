// Runs the Storage contract on SQLite and on PostgreSQL.
import { after } from "node:test";
import { openPostgresStorage } from "./postgres.js";
import { openSqliteStorage } from "./sqlite.js";
import type { Storage } from "./storage.js";
import { type StorageHarness, storageContract } from "./storage-contract.js";
import { describePostgres, TestSchemas, TestSqliteFiles } from "./test-databases.js";

/** Opens each test's database from `newLocation` and remembers where it lives, to reopen it. */
function harness(
  dialect: Storage["dialect"],
  newLocation: () => Promise<string>,
  open: (location: string) => Promise<Storage>,
): StorageHarness {
  const where = new WeakMap<Storage, string>();
  async function remember(location: string): Promise<Storage> {
    const storage = await open(location);
    where.set(storage, location);
    return storage;
  }
  return {
    dialect,
    create: async () => remember(await newLocation()),
    reopen(storage) {
      const location = where.get(storage);
      if (location === undefined) throw new Error("storage was not created by this harness");
      return remember(location);
    },
  };
}

{
  const files = new TestSqliteFiles("parley-storage-");
  after(() => files.removeAll());
  storageContract(
    "SQLite storage",
    harness("sqlite", () => files.migratedEmpty(), openSqliteStorage),
  );
}

describePostgres("PostgreSQL storage", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  storageContract(
    "contract",
    harness("postgres", () => schemas.migratedEmpty(), openPostgresStorage),
  );
});
