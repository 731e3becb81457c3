import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, test } from "node:test";
import { MemoryStore, type ParleyClient } from "@parley/client";
import { Redis } from "ioredis";
import { TestSchemas } from "../../packages/server/src/storage/test-databases.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { nextEvent, sdkClient, sdkSignUp } from "./support/sdk.js";

// IDENT-4 across a cluster: a person resets their identity on server A; a member connected to
// server B hears the server's identity.reset hint over the bus and takes the old leaves out.
// Two servers in this process share one PostgreSQL schema (fresh per run) and one Redis at
// 127.0.0.1 (a key prefix per run, deleted at the end).

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL;
const DATABASE_URL = process.env.PARLEY_TEST_DATABASE_URL;
const PREFIX = `parley-test-${randomBytes(6).toString("hex")}:reset:`;

async function eventually(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

if (REDIS_URL === undefined || DATABASE_URL === undefined) {
  test("identity reset hints across two servers", (t) => {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail(
        "PARLEY_REQUIRE_SERVICES=1 but PARLEY_TEST_REDIS_URL or PARLEY_TEST_DATABASE_URL is not set",
      );
    t.skip("PARLEY_TEST_REDIS_URL and PARLEY_TEST_DATABASE_URL are needed");
  });
} else {
  describe("identity reset hints across two servers on one Redis (IDENT-4)", () => {
    const schemas = new TestSchemas(DATABASE_URL);
    const admin = new Redis(REDIS_URL);
    let a: TestServer;
    let b: TestServer;
    let dirB: string;
    const open: ParleyClient[] = [];

    before(async () => {
      const config = { redisUrl: REDIS_URL, databaseUrl: await schemas.create(), authRatePerMin: 100_000 };
      a = await startTestServer(
        { ...config, nodeId: `a-${randomBytes(3).toString("hex")}` },
        { redis: { keyPrefix: PREFIX } },
      );
      dirB = await mkdtemp(join(tmpdir(), "parley-reset-b-"));
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

    it("has a member on the other server take a reset person's old leaf out without looking them up", async () => {
      const bob = await sdkSignUp(a, "bob");
      const alice = await sdkSignUp(b, "alice");
      const carol = await sdkSignUp(a, "carol");
      open.push(bob.client, alice.client, carol.client);
      const room = await alice.client.createRoom("across the reset", { isPublic: false });
      for (const u of [bob, carol]) {
        await alice.client.invite(room.id, u.id);
        await u.client.join(room.id);
      }
      const oldLaptopId = bob.client.deviceId ?? assert.fail("bob has a device id");
      const bobsLeaves = async (client: ParleyClient) =>
        (await client.roomDevices(room.id)).filter((d) => d.userId === bob.id).map((d) => d.deviceId);
      for (const client of [alice.client, carol.client])
        await eventually(
          async () => (await bobsLeaves(client)).join() === oldLaptopId,
          "the group holds bob's laptop",
        );

      // bob resets on server A and closes at once: his new device never rejoins the group.
      const aliceSees = nextEvent(alice.client, "identity_changed", (c) => c.userId === bob.id);
      const carolSees = nextEvent(carol.client, "identity_changed", (c) => c.userId === bob.id);
      await bob.client.resetIdentity(STRONG_PASSWORD);
      await bob.client.close();
      await Promise.all([aliceSees, carolSees]);
      for (const client of [alice.client, carol.client])
        await eventually(
          async () => (await bobsLeaves(client)).length === 0,
          "bob's old leaf leaves the group",
        );
      await eventually(
        async () => (await alice.client.epoch(room.id)) === (await carol.client.epoch(room.id)),
        "alice and carol agree on the epoch",
      );
      const carolHears = nextEvent(carol.client, "message", (m) => m.text === "after bob's reset");
      await alice.client.send(room.id, "after bob's reset");
      await carolHears;
    });

    it("has a member who was away hear of a reset made on the other server when it is back", async () => {
      const bob = await sdkSignUp(a, "bob");
      const aliceStore = new MemoryStore();
      const alice = { client: sdkClient(b, aliceStore), id: "" };
      open.push(bob.client, alice.client);
      alice.id = (await alice.client.register(uniqueName("alice"), STRONG_PASSWORD)).id;
      await alice.client.connect();
      const room = await alice.client.createRoom("reset while away", { isPublic: false });
      await alice.client.invite(room.id, bob.id);
      await bob.client.join(room.id);
      const oldLaptopId = bob.client.deviceId ?? assert.fail("bob has a device id");
      const bobsLeaves = async () =>
        (await alice.client.roomDevices(room.id)).filter((d) => d.userId === bob.id).map((d) => d.deviceId);
      await eventually(
        async () => (await bobsLeaves()).join() === oldLaptopId,
        "the group holds bob's laptop",
      );

      // alice (server B) is away while bob resets on server A, whose new device goes at once.
      await alice.client.close();
      await bob.client.resetIdentity(STRONG_PASSWORD);
      await bob.client.close();
      const back = sdkClient(b, aliceStore);
      open.push(back);
      const aliceSees = nextEvent(back, "identity_changed", (c) => c.userId === bob.id);
      assert.equal(await back.resume(), true);
      await back.connect();
      assert.equal((await aliceSees).deviceId, bob.client.deviceId);
      alice.client = back;
      await eventually(async () => (await bobsLeaves()).length === 0, "bob's old leaf leaves the group");
    });
  });
}
