import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import pino from "pino";
import { asUserId } from "../domain/ids.js";
import type { Bus } from "./bus.js";
import { busContract, deleteKeys } from "./bus-contract.js";
import { MemoryBus } from "./memory-bus.js";
import { RedisBus } from "./redis-bus.js";

// The bus contract on both implementations: the in-memory bus, and the Redis bus against a real
// Redis (PARLEY_TEST_REDIS_URL) under a key prefix of this run's own, whose keys are deleted after.

busContract("MemoryBus", {
  async create(t) {
    const bus = new MemoryBus();
    t.after(() => bus.close());
    return bus;
  },
});

describe("MemoryBus without a device view", () => {
  test("counts nothing as connected before a sink is attached or when the sink cannot tell", async () => {
    const bus = new MemoryBus();
    const devices = [{ userId: asUserId("alice"), deviceId: "phone" }];
    assert.deepEqual([...(await bus.connectedDevices(devices))], []);
    bus.attach({
      deliverLocal: () => undefined,
      deliverLocalDevice: () => undefined,
      onControl: () => undefined,
    });
    await bus.connectionOpened(asUserId("alice"), "c1");
    assert.deepEqual([...(await bus.connectedDevices(devices))], []);
  });
});

const redisUrl = process.env.PARLEY_TEST_REDIS_URL;
if (redisUrl) {
  const prefix = `parley-test-${randomBytes(6).toString("hex")}:`;
  const admin = new Redis(redisUrl);
  const silent = pino({ level: "silent" });
  after(async () => {
    await deleteKeys(admin, prefix);
    await admin.quit();
  });
  const clusters = new WeakMap<Bus, string>();
  async function redisNode(cluster: string): Promise<RedisBus> {
    const bus = new RedisBus({
      url: redisUrl as string,
      nodeId: `n${randomBytes(4).toString("hex")}`,
      log: silent,
      keyPrefix: `${prefix}${cluster}`,
      heartbeatMs: 100,
      // Long: no contract test waits for an expiry, and a stalled loop must not expire a node.
      presenceTtlMs: 30_000,
      usernameOf: async (id) => `name-${id}`,
    });
    clusters.set(bus, cluster);
    assert.ok(await bus.waitUntilReady(5000), "bus ready");
    return bus;
  }
  busContract("RedisBus", {
    async create(t) {
      // A prefix per test: presence from other tests cannot interfere.
      const bus = await redisNode(`${randomBytes(3).toString("hex")}:`);
      t.after(() => bus.close());
      return bus;
    },
    async peer(t, bus) {
      const other = await redisNode(clusters.get(bus) as string);
      t.after(() => other.close());
      return other;
    },
  });
} else if (process.env.PARLEY_REQUIRE_SERVICES === "1") {
  test("RedisBus contract", () =>
    assert.fail("PARLEY_REQUIRE_SERVICES=1 but PARLEY_TEST_REDIS_URL is not set"));
} else {
  describe("RedisBus contract", { skip: "PARLEY_TEST_REDIS_URL is not set" }, () => undefined);
}
