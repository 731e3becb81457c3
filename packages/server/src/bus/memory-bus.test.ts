import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asUserId, type UserId } from "../domain/ids.js";
import type { BusSink } from "./bus.js";
import { MemoryBus } from "./memory-bus.js";

describe("MemoryBus.connectedDevices", () => {
  test("answers exactly the devices the local sink has connected", async () => {
    const bus = new MemoryBus();
    const sink: BusSink = {
      deliverLocal: () => undefined,
      deliverLocalDevice: () => undefined,
      onControl: () => undefined,
      hasLocalDevice: (userId: UserId, deviceId: string) => userId === "alice" && deviceId === "phone",
    };
    bus.attach(sink);
    // Presence of the user does not count for the single server: its device view is exact.
    await bus.connectionOpened(asUserId("alice"), "c1");
    const got = await bus.connectedDevices([
      { userId: asUserId("alice"), deviceId: "phone" },
      { userId: asUserId("alice"), deviceId: "laptop" },
      { userId: asUserId("bob"), deviceId: "phone" },
    ]);
    assert.deepEqual([...got], ["alice\u0000phone"]);
  });

  test("counts nothing as connected before a sink is attached or when it cannot tell", async () => {
    const bus = new MemoryBus();
    const devices = [{ userId: asUserId("alice"), deviceId: "phone" }];
    assert.deepEqual([...(await bus.connectedDevices(devices))], []);
    bus.attach({
      deliverLocal: () => undefined,
      deliverLocalDevice: () => undefined,
      onControl: () => undefined,
    });
    assert.deepEqual([...(await bus.connectedDevices(devices))], []);
  });
});
