import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type DeviceIdentity, inspectKeyPackage } from "@parley/crypto";
import { base64ToBytes } from "./base64.js";
import type { RequestFrame } from "./connection.js";
import { DeviceKeys, KEY_PACKAGE_BATCH } from "./device.js";
import { ParleyClientError } from "./errors.js";
import { KeySupply } from "./key-supply.js";
import { MemoryStore } from "./store.js";

/** A KeySupply over a real DeviceKeys; `answer` plays the server. */
async function setup(answer: (frame: RequestFrame) => Promise<unknown>) {
  const device = new DeviceKeys(new MemoryStore(), () => Date.now());
  let identity: DeviceIdentity = await device.ensure("u1");
  const sent: RequestFrame[] = [];
  const errors: string[] = [];
  let newDevices = 0;
  const supply = new KeySupply({
    device: {
      isRegistered: () => device.isRegistered(),
      registration: (i) => device.registration(i),
      markRegistered: () => device.markRegistered(),
      newKeyPackages: (i, n) => device.newKeyPackages(i, n),
      newLastResort: (i) => device.newLastResort(i),
      publishedSuite: () => device.publishedSuite(),
      markPublished: (suite) => device.markPublished(suite),
      get suite() {
        return device.suite;
      },
      recreate: async (user) => {
        identity = await device.recreate(user);
        return identity;
      },
    },
    server: {
      request: (async (frame: RequestFrame) => {
        sent.push(frame);
        return answer(frame);
      }) as never,
    },
    identity: () => identity,
    onNewDevice: () => newDevices++,
    report: (e) => errors.push(e.code),
    closed: () => false,
  });
  const settle = () => supply.idle();
  return { supply, device, sent, errors, newDevices: () => newDevices, identity: () => identity, settle };
}

const count = (low: boolean) => async () => ({ type: "keypackages.count", remaining: low ? 1 : 60, low });

describe("KeySupply", () => {
  test("registers a device once, with a batch and a last resort", async () => {
    const s = await setup(count(false));
    await s.supply.ready();
    await s.supply.ready();
    assert.deepEqual(
      s.sent.map((f) => f.type),
      ["device.register"],
    );
    const reg = s.sent[0] as Extract<RequestFrame, { type: "device.register" }>;
    assert.equal(reg.keyPackages.length, KEY_PACKAGE_BATCH);
    assert.equal(reg.deviceId, s.identity().deviceId);
  });

  test("publishes a batch and a last resort in the server's new suite, once, when the suite changed", async () => {
    const s = await setup(count(false));
    await s.supply.ready();
    s.device.suite = "xwing";
    await s.supply.ready();
    await s.supply.ready();
    assert.deepEqual(
      s.sent.map((f) => f.type),
      ["device.register", "keypackages.upload"],
    );
    const upload = s.sent[1] as Extract<RequestFrame, { type: "keypackages.upload" }>;
    assert.equal(upload.keyPackages.length, KEY_PACKAGE_BATCH);
    assert.ok(upload.lastResort !== undefined);
    const suites = await Promise.all(
      [...upload.keyPackages, upload.lastResort].map(
        async (p) => (await inspectKeyPackage(base64ToBytes(p))).suite,
      ),
    );
    assert.deepEqual(new Set(suites), new Set(["xwing"]));
    assert.equal(await s.device.publishedSuite(), "xwing");
  });

  test("uploads a new batch when the server says the supply is low", async () => {
    const s = await setup(count(true));
    await s.supply.ready();
    await s.settle();
    assert.deepEqual(
      s.sent.map((f) => f.type),
      ["device.register", "keypackages.upload"],
    );
  });

  test("a device id bound to another key makes this a new device, and the connection fails", async () => {
    const s = await setup(async () => {
      throw new ParleyClientError("device_key_mismatch");
    });
    const before = s.identity().deviceId;
    await assert.rejects(
      s.supply.ready(),
      (e) => e instanceof ParleyClientError && e.code === "device_key_mismatch",
    );
    assert.notEqual(s.identity().deviceId, before);
    assert.equal(s.newDevices(), 1);
  });

  test("a batch cut off with its connection goes up on the next one; a full supply is not an error", async () => {
    let uploads = 0;
    const s = await setup(async (frame) => {
      if (frame.type !== "keypackages.upload") return count(false)();
      uploads++;
      throw new ParleyClientError(uploads === 1 ? "connection_lost" : "key_packages_full");
    });
    await s.supply.ready();
    s.supply.replenish();
    await s.settle();
    assert.equal(uploads, 1);
    await s.supply.ready();
    await s.settle();
    assert.equal(uploads, 2, "sent again on the next connection");
    await s.supply.ready();
    await s.settle();
    assert.equal(uploads, 2, "and only once");
    assert.deepEqual(s.errors, []);
  });
});
