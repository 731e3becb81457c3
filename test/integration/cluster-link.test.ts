import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, test } from "node:test";
import { isParleyClientError, type ParleyClient } from "@parley/client";
import { Redis } from "ioredis";
import { TestSchemas } from "../../packages/server/src/storage/test-databases.js";
import { STRONG_PASSWORD, startTestServer, type TestServer } from "./support/harness.js";
import { linkBySdk, nextEvent, sdkClient, sdkSignUp } from "./support/sdk.js";

// IDENT-3 across a cluster: the new device reaches one server, the device that links it
// another. Two servers in this process share one PostgreSQL schema (fresh per run) and one
// Redis at 127.0.0.1 (a key prefix per run, deleted at the end); the open links live in Redis.

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL;
const DATABASE_URL = process.env.PARLEY_TEST_DATABASE_URL;
const PREFIX = `parley-test-${randomBytes(6).toString("hex")}:link:`;

if (REDIS_URL === undefined || DATABASE_URL === undefined) {
  test("links across two servers", (t) => {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail(
        "PARLEY_REQUIRE_SERVICES=1 but PARLEY_TEST_REDIS_URL or PARLEY_TEST_DATABASE_URL is not set",
      );
    t.skip("PARLEY_TEST_REDIS_URL and PARLEY_TEST_DATABASE_URL are needed");
  });
} else {
  describe("device links across two servers on one Redis", () => {
    const schemas = new TestSchemas(DATABASE_URL);
    const admin = new Redis(REDIS_URL);
    let a: TestServer;
    let b: TestServer;
    let dirB: string;
    const open: ParleyClient[] = [];

    before(async () => {
      const config = {
        redisUrl: REDIS_URL,
        databaseUrl: await schemas.create(),
        authRatePerMin: 100_000,
      };
      a = await startTestServer(
        { ...config, nodeId: `a-${randomBytes(3).toString("hex")}` },
        { redis: { keyPrefix: PREFIX } },
      );
      dirB = await mkdtemp(join(tmpdir(), "parley-link-b-"));
      await copyFile(join(a.dataDir, "jwt.secret"), join(dirB, "jwt.secret"));
      await chmod(join(dirB, "jwt.secret"), 0o600);
      b = await startTestServer(
        { ...config, nodeId: `b-${randomBytes(3).toString("hex")}` },
        { redis: { keyPrefix: PREFIX }, dataDir: dirB },
      );
    });
    after(async () => {
      await Promise.all(open.map((c) => c.close()));
      await Promise.all([a?.stop(), b?.stop()]);
      if (dirB) await rm(dirB, { recursive: true, force: true });
      await schemas.dropAll();
      const keys = await admin.keys(`${PREFIX}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    });

    it("links a device on server B from a device on server A, and removes it again across them", async () => {
      const bob = await sdkSignUp(a, "bob");
      open.push(bob.client);
      const phone = sdkClient(b);
      open.push(phone);
      await phone.login(bob.username, STRONG_PASSWORD);
      const sas = await linkBySdk(bob.client, phone);
      assert.equal(sas.newSide, sas.existingSide);
      const room = await bob.client.createRoom("across", { isPublic: false });
      await phone.join(room.id);
      const heard = nextEvent(bob.client, "message", (m) => m.text === "from server B");
      await phone.send(room.id, "from server B");
      assert.equal((await heard).from.deviceId, phone.deviceId);

      // Nothing of the link is left in Redis once it is done.
      assert.deepEqual(await admin.keys(`${PREFIX}link:*`), []);

      // Removed from A, the phone on B is told and erased.
      const gone = nextEvent(phone, "this_device_removed");
      await bob.client.removeDevice(phone.deviceId ?? "");
      await gone;
    });

    it("refuses a wrong code and another account's code across servers, and links with the right one", async () => {
      const erin = await sdkSignUp(a, "erin");
      const frank = await sdkSignUp(b, "frank");
      open.push(erin.client, frank.client);
      const tablet = sdkClient(b);
      open.push(tablet);
      await tablet.login(erin.username, STRONG_PASSWORD);
      const pending = await tablet.startLink();
      const wrong = `${pending.code.slice(0, 10)}${pending.code[10] === "0" ? "1" : "0"}`;
      await assert.rejects(erin.client.linkDevice(wrong), (e) => isParleyClientError(e, "link_not_found"));
      await assert.rejects(frank.client.linkDevice(pending.code), (e) =>
        isParleyClientError(e, "link_not_found"),
      );
      assert.equal((await admin.keys(`${PREFIX}link:*`)).length, 1, "one open link, in Redis");

      const joined = await erin.client.linkDevice(pending.code);
      assert.equal(await pending.sas, joined.sas);
      pending.confirm();
      await joined.confirm();
      await pending.done;
      assert.deepEqual(await admin.keys(`${PREFIX}link:*`), []);
    });
  });
}
