import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { asUserId } from "../domain/ids.js";
import { openPostgresStorage } from "./postgres.js";
import { openSqliteStorage } from "./sqlite.js";
import type { Storage } from "./storage.js";
import { describePostgres, TestSchemas } from "./test-databases.js";

// Issue 15: the per-account device cap is checked with the insert, so registrations racing
// each other cannot pass it together.

async function raceToTheCap(s: Storage): Promise<void> {
  const userId = asUserId("u-racer");
  await s.createUser({ id: userId, username: "racer", passwordHash: "h", isAdmin: false, createdAt: 1 });
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      s.delivery.addDevice({ userId, deviceId: `d${i}`, signatureKey: `key-${i}`, createdAt: 1 }, 3),
    ),
  );
  assert.equal(results.filter(Boolean).length, 3, `added: ${JSON.stringify(results)}`);
  assert.equal((await s.delivery.listDevices(userId)).length, 3);
  // Without a cap the insert goes on as before.
  assert.equal(
    await s.delivery.addDevice({ userId, deviceId: "extra", signatureKey: "key-x", createdAt: 1 }),
    true,
  );
}

describe("the device cap holds under concurrent registrations", () => {
  test("on SQLite", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-cap-"));
    const s = await openSqliteStorage(join(dir, "parley.db"));
    try {
      await raceToTheCap(s);
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describePostgres("the device cap holds under concurrent registrations on PostgreSQL", (url) => {
  const schemas = new TestSchemas(url);
  after(() => schemas.dropAll());
  test("on PostgreSQL", async () => {
    const s = await openPostgresStorage(await schemas.create());
    try {
      await raceToTheCap(s);
    } finally {
      await s.close();
    }
  });
});
