import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { openPostgresStorage } from "./postgres.js";
import { openSqliteStorage } from "./sqlite.js";
import type { Storage } from "./storage.js";
import { storageContract } from "./storage-contract.js";
import { describePostgres, TestSchemas } from "./test-databases.js";

/** Remembers where each storage lives so that the harness can reopen it. */
function locations() {
  const where = new WeakMap<Storage, string>();
  return {
    remember(storage: Storage, location: string): Storage {
      where.set(storage, location);
      return storage;
    },
    of(storage: Storage): string {
      const location = where.get(storage);
      if (location === undefined) throw new Error("storage was not created by this harness");
      return location;
    },
  };
}

{
  let dir = "";
  let count = 0;
  const files = locations();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-storage-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  storageContract("SQLite storage", {
    dialect: "sqlite",
    async create() {
      const file = join(dir, `${count++}.db`);
      return files.remember(await openSqliteStorage(file), file);
    },
    async reopen(storage) {
      const file = files.of(storage);
      return files.remember(await openSqliteStorage(file), file);
    },
  });
}

describePostgres("PostgreSQL storage", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  const urls = locations();
  after(() => schemas.dropAll());

  storageContract("contract", {
    dialect: "postgres",
    async create() {
      const url = await schemas.migratedEmpty();
      return urls.remember(await openPostgresStorage(url), url);
    },
    async reopen(storage) {
      const url = urls.of(storage);
      return urls.remember(await openPostgresStorage(url), url);
    },
  });
});
