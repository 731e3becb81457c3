import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openStorage } from "./open-storage.js";
import { describePostgres, TestSchemas } from "./test-databases.js";

describe("openStorage", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-open-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const databaseUrl of [undefined, "", "mysql://localhost/parley"]) {
    test(`uses the SQLite file when the database URL is ${JSON.stringify(databaseUrl)}`, async (t) => {
      const sqliteFile = join(dir, `${databaseUrl?.length ?? "none"}.db`);
      const storage = await openStorage(
        databaseUrl === undefined ? { sqliteFile } : { databaseUrl, sqliteFile },
      );
      t.after(() => storage.close());
      assert.equal(storage.dialect, "sqlite");
      await stat(sqliteFile);
    });
  }
});

describePostgres("openStorage with a PostgreSQL URL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());

  for (const scheme of ["postgres:", "postgresql:"]) {
    test(`uses PostgreSQL for a ${scheme}// URL`, async (t) => {
      const url = new URL(await schemas.create());
      url.protocol = scheme;
      const storage = await openStorage({ databaseUrl: url.href, sqliteFile: "/nonexistent/unused.db" });
      t.after(() => storage.close());
      assert.equal(storage.dialect, "postgres");
    });
  }
});
