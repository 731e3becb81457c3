import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import pg from "pg";
import { openPostgresStorage } from "./postgres.js";
import { describePostgres, TestSchemas } from "./test-databases.js";

describe("openPostgresStorage without a database", () => {
  // No timing is asserted: a connection that waited for an answer would wait for ever, past the
  // tests' generous timeout.
  test("fails when nothing listens on the port", { timeout: 30_000 }, async () => {
    await assert.rejects(openPostgresStorage("postgres://postgres@127.0.0.1:1/test"));
  });

  test("fails at the connect timeout when the server never answers", { timeout: 30_000 }, async (t) => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as { port: number };

    await assert.rejects(
      openPostgresStorage(`postgres://postgres@127.0.0.1:${port}/test`, { connectTimeoutMs: 300 }),
    );
  });
});

describePostgres("openPostgresStorage", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());

  test("leaves pg's process-wide int8 parser alone", async (t) => {
    const storage = await openPostgresStorage(await schemas.create());
    t.after(() => storage.close());
    assert.equal(await storage.countUsers(), 0);
    assert.equal(pg.types.getTypeParser(pg.types.builtins.INT8)("42"), "42");
  });
});
