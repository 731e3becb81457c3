import assert from "node:assert/strict";
import { after, test } from "node:test";
import { sql } from "kysely";
import { describePostgres, kyselyOn, TestSchemas } from "./test-databases.js";

describePostgres("SchemaScopedPostgresDialect", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());

  test("introspects only the schema on the search_path", async (t) => {
    const [mine, other] = [
      kyselyOn("postgres", await schemas.create()),
      kyselyOn("postgres", await schemas.create()),
    ];
    t.after(() => Promise.all([mine.destroy(), other.destroy()]));
    await sql`create table mine (id integer primary key, note text)`.execute(mine);
    await sql`create table theirs (id integer)`.execute(other);

    const tables = await mine.introspection.getTables();
    assert.deepEqual(
      tables.map((t) => [t.name, t.columns.map((c) => [c.name, c.dataType, c.isNullable])]),
      [
        [
          "mine",
          [
            ["id", "int4", false],
            ["note", "text", true],
          ],
        ],
      ],
    );
    const [{ name: schema } = { name: "" }] = await mine.introspection.getSchemas();
    assert.equal(tables[0]?.schema, schema);
  });
});
