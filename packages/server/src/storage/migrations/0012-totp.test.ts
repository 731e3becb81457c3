import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import { asUserId } from "../../domain/ids.js";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas, tableNames } from "../test-databases.js";
import { KyselyTotpStore } from "../totp-store.js";
import { totp } from "./0012-totp.js";
import { migrations } from "./index.js";

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up adds TOTP factors and login challenges that go with their account; down removes them", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    if (dialect === "sqlite") await sql`pragma foreign_keys = on`.execute(db);
    for (const name of Object.keys(migrations).sort()) {
      if (name >= "0012") break;
      await migrations[name]?.up(db);
    }
    const before = await tableNames(db, dialect);
    await totp.up(db);
    assert.deepEqual(await tableNames(db, dialect), [...before, "login_challenges", "totp_factors"].sort());
    await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
      values ('u1', 'u1', 'u1', 'x', 0, 0, 1)`.execute(db);
    const store = new KyselyTotpStore(db as never);
    const u1 = asUserId("u1");
    assert.equal(await store.begin(u1, "v1.sealed", 1), true);
    assert.equal(await store.confirm(u1, 100, 2), true);
    assert.equal(await store.begin(u1, "v1.other", 3), false, "a factor that is on is not replaced");
    assert.equal(await store.useStep(u1, 100), false, "the confirming step is spent");
    assert.equal(await store.useStep(u1, 101), true);
    assert.equal(await store.useStep(u1, 101), false, "RFC 6238 §5.2: no second use");
    await store.insertChallenge("h1", {
      userId: u1,
      kind: "totp",
      ip: "10.0.0.1",
      createdAt: 1,
      expiresAt: 50,
      attempts: 0,
    });
    assert.equal((await store.tryChallenge("h1", 10, 2))?.attempts, 1);
    assert.equal((await store.tryChallenge("h1", 10, 2))?.attempts, 2);
    assert.equal(await store.tryChallenge("h1", 10, 2), undefined, "out of tries");
    await sql`delete from users where id = 'u1'`.execute(db);
    for (const table of ["totp_factors", "login_challenges"]) {
      const left = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
        db,
      );
      assert.equal(Number(left.rows[0]?.n), 0, table);
    }
    await totp.down?.(db);
    assert.deepEqual(await tableNames(db, dialect), before);
  });
}

describe("0012-totp on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0012-totp on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
