import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import type { Storage } from "../storage.js";
import { describePostgres, kyselyOn, TestSchemas } from "../test-databases.js";
import { initial } from "./0001-initial.js";
import { inviteUses } from "./0014-invite-uses.js";

function suite(dialect: Storage["dialect"], location: () => Promise<string>): void {
  test("up gives old invites an id from their hash, one use and the use they had; down removes it", async (t) => {
    const db = kyselyOn(dialect, await location());
    t.after(() => db.destroy());
    await initial.up(db);
    await sql`insert into users (id, username, username_key, password_hash, is_admin, disabled, created_at)
      values ('u1', 'u1', 'u1', 'x', 1, 0, 1)`.execute(db);
    await sql`insert into invites (code_hash, created_by, created_at, expires_at, used_at, used_by)
      values ('0123456789abcdef0123', 'u1', 1, 100, null, null),
             ('fedcba98765432100000', 'u1', 2, 100, 50, 'u1')`.execute(db);
    await inviteUses.up(db);
    const rows = await sql<{ id: string; max_uses: number; uses: number; revoked_at: number | null }>`
      select id, max_uses, uses, revoked_at from invites order by created_at`.execute(db);
    assert.deepEqual(
      rows.rows.map((r) => [r.id, Number(r.max_uses), Number(r.uses), r.revoked_at]),
      [
        ["0123456789abcdef", 1, 0, null],
        ["fedcba9876543210", 1, 1, null],
      ],
    );
    await assert.rejects(
      sql`insert into invites (id, code_hash, created_by, created_at, expires_at)
        values ('0123456789abcdef', 'other', 'u1', 3, 100)`.execute(db),
      "the id is unique",
    );
    await inviteUses.down?.(db);
    await assert.rejects(sql`select max_uses from invites`.execute(db));
    await assert.rejects(sql`select id from invites`.execute(db));
  });
}

describe("0014-invite-uses on SQLite", () => suite("sqlite", async () => ":memory:"));

describePostgres("0014-invite-uses on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  suite("postgres", () => schemas.create());
});
