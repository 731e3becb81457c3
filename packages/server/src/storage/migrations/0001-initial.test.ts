import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas, tableNames } from "../test-databases.js";
import { initial } from "./0001-initial.js";

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up creates the eight tables and down removes all of them", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    await initial.up(db);
    assert.deepEqual(await tableNames(db, dialect), [
      "invites",
      "refresh_tokens",
      "room_invites",
      "room_members",
      "rooms",
      "sessions",
      "subscriptions",
      "users",
    ]);
    await initial.down?.(db);
    assert.deepEqual(await tableNames(db, dialect), []);
  });
}

describe("0001-initial on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0001-initial on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
