import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import pg from "pg";
import { openPostgresStorage } from "./postgres.js";
import { describePostgres, TestSchemas } from "./test-databases.js";

describe("openPostgresStorage without a database", () => {
  test("fails fast when nothing listens on the port", async () => {
    const started = Date.now();
    await assert.rejects(openPostgresStorage("postgres://postgres@127.0.0.1:1/test"));
    assert.ok(Date.now() - started < 5000);
  });

  test("fails within the connect timeout when the server never answers", async (t) => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as { port: number };

    const started = Date.now();
    await assert.rejects(
      openPostgresStorage(`postgres://postgres@127.0.0.1:${port}/test`, { connectTimeoutMs: 300 }),
    );
    assert.ok(Date.now() - started < 3000, "did not wait for the operating system's TCP timeout");
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
