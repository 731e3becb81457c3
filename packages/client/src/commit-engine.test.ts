// CommitEngine.scheduleSupersededRemoval (IDENT-4): after a person reset their identity, the
// leaves their old key certified leave the group, removed by one member.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMlsConfig, type DeviceIdentity, groupMembers } from "@parley/crypto";
import type { DeviceRef } from "@parley/protocol";
import { bytesToBase64 } from "./base64.js";
import { DeviceKeys } from "./device.js";
import { GroupSync } from "./group-sync.js";
import { GroupStates } from "./groups.js";
import { KeyPins } from "./pins.js";
import { defaultTimers } from "./platform.js";
import { MemoryStore } from "./store.js";
import { FakeDeliveryService, type FakeDevice } from "./testing/fake-delivery.js";
import { FakeScheduler } from "./testing/fake-scheduler.js";
import { settled as settleAll, until } from "./testing/settle.js";

const ROOM = "ROOM01";

interface Device {
  readonly name: string;
  readonly identity: DeviceIdentity;
  readonly sync: GroupSync;
  readonly groups: GroupStates;
  readonly link: FakeDevice;
  readonly scheduler: FakeScheduler;
  readonly errors: string[];
}

/**
 * A device of user `name` (its own store, so a new identity key) on the fake server, with real
 * MLS; its background tasks wait in a FakeScheduler. `random` is its jitter.
 */
async function device(server: FakeDeliveryService, name: string, random = () => 0.5): Promise<Device> {
  const store = new MemoryStore();
  const keys = new DeviceKeys(store, () => Date.now());
  const identity = await keys.ensure(name);
  const mls = createMlsConfig();
  const groups = new GroupStates(store, mls, defaultTimers);
  const scheduler = new FakeScheduler();
  const errors: string[] = [];
  let sync: GroupSync | undefined;
  const link = server.device({ userId: identity.userId, deviceId: identity.deviceId }, (frame) =>
    sync?.receive(frame),
  );
  link.keyPackages = await keys.newKeyPackages(identity, 5);
  link.signatureKey = bytesToBase64(identity.signaturePublicKey);
  sync = new GroupSync({
    groups,
    device: keys,
    pins: new KeyPins(store, { identityChanged: () => {}, deviceAdded: () => {} }),
    server: link,
    mls,
    identity: () => identity,
    scheduler,
    out: {
      message: () => undefined,
      sync: () => undefined,
      followed: () => undefined,
      membership: () => undefined,
      error: (error) => void errors.push(error.code),
    },
    random,
    syncTimeoutMs: 5000,
    commitRetries: 5,
  });
  return { name, identity, sync, groups, link, scheduler, errors };
}

const settled = (devices: Device[]) => settleAll(devices, ROOM);

type CommitFrame = { type: string; removeDevices?: DeviceRef[] };
const commits = (d: Device) => d.link.sent.filter((f): f is CommitFrame => f.type === "mls.commit");

async function leaves(d: Device): Promise<string[]> {
  const state = await d.groups.get(ROOM);
  assert.ok(state !== undefined, `${d.name} is in the group`);
  return groupMembers(state).map((m) => `${m.device.userId}/${m.device.deviceId}`);
}
const named = (d: Device) => `${d.identity.userId}/${d.identity.deviceId}`;

/**
 * alice's room with bob and carol, after bob reset his identity: his old device (gone, its keys
 * lost with it) still has its leaf; his new device, under the new key, joined by external
 * Commit. alice's leaf comes before carol's, and her jitter is the largest there is.
 */
async function afterReset() {
  const server = new FakeDeliveryService();
  const alice = await device(server, "alice", () => 0.999);
  const oldBob = await device(server, "bob");
  const carol = await device(server, "carol", () => 0);
  await alice.sync.engine.startGroup(ROOM, []);
  await alice.sync.engine.addUser(ROOM, "bob");
  await alice.sync.engine.addUser(ROOM, "carol");
  await settled([alice, oldBob, carol]);
  oldBob.link.disconnect();
  const newBob = await device(server, "bob");
  assert.notEqual(
    bytesToBase64(newBob.identity.certificate.identityKey),
    bytesToBase64(oldBob.identity.certificate.identityKey),
  );
  await newBob.sync.engine.rejoinRooms();
  await settled([alice, carol, newBob]);
  assert.deepEqual(await leaves(alice), [named(alice), named(oldBob), named(carol), named(newBob)]);
  const newKey = async () => newBob.identity.certificate.identityKey;
  return { server, alice, oldBob, carol, newBob, newKey };
}

describe("removing a reset person's old leaves (IDENT-4)", () => {
  test("other members wait their turn, in the order of their leaves whatever their jitter, and commit nothing before it", async () => {
    const { alice, carol, newKey } = await afterReset();
    const before = [commits(alice).length, commits(carol).length];
    await alice.sync.engine.scheduleSupersededRemoval(ROOM, "bob", newKey);
    await carol.sync.engine.scheduleSupersededRemoval(ROOM, "bob", newKey);
    const aliceTurn = alice.scheduler.take();
    const carolTurn = carol.scheduler.take();
    assert.ok(aliceTurn.ms < carolTurn.ms, `alice at ${aliceTurn.ms} ms, carol at ${carolTurn.ms} ms`);
    assert.ok(aliceTurn.ms > 0, "after the person's own new device had its turn");
    assert.deepEqual([commits(alice).length, commits(carol).length], before, "nothing committed yet");
  });

  test("at its turn a member removes exactly the old key's leaves; the next one finds nothing to do", async () => {
    const { server, alice, oldBob, carol, newBob, newKey } = await afterReset();
    const start = server.epoch(ROOM) ?? assert.fail("the room has a group");
    await alice.sync.engine.scheduleSupersededRemoval(ROOM, "bob", newKey);
    await carol.sync.engine.scheduleSupersededRemoval(ROOM, "bob", newKey);
    const aliceBefore = commits(alice).length;
    await alice.scheduler.take().task();
    assert.deepEqual(
      commits(alice)
        .slice(aliceBefore)
        .map((f) => f.removeDevices),
      [[{ userId: oldBob.identity.userId, deviceId: oldBob.identity.deviceId }]],
      "one Commit, removing the old device and not the new one",
    );
    assert.equal(await settled([alice, carol, newBob]), start + 1);
    const carolBefore = commits(carol).length;
    await carol.scheduler.take().task();
    assert.equal(commits(carol).length, carolBefore, "carol commits nothing");
    assert.equal(server.epoch(ROOM), start + 1);
    for (const d of [alice, carol, newBob])
      assert.deepEqual(await leaves(d), [named(alice), named(carol), named(newBob)]);
    for (const d of [alice, carol, newBob]) {
      assert.deepEqual(d.errors, [], `${d.name} reported errors`);
      assert.deepEqual(d.scheduler.waiting, [], `${d.name} has work left`);
    }
  });

  test("a member whose turn came before the winner reached it loses the epoch, then finds nothing to do", async () => {
    const { server, alice, carol, newBob, newKey } = await afterReset();
    const start = server.epoch(ROOM) ?? assert.fail("the room has a group");
    await alice.sync.engine.scheduleSupersededRemoval(ROOM, "bob", newKey);
    await carol.sync.engine.scheduleSupersededRemoval(ROOM, "bob", newKey);
    carol.link.holdHandshakes = true;
    await alice.scheduler.take().task();
    const carolBefore = commits(carol).length;
    const carolTurn = carol.scheduler.take().task();
    await until(() => commits(carol).length > carolBefore, "carol's Commit is refused");
    carol.link.release();
    await carolTurn;
    assert.equal(commits(carol).length - carolBefore, 1, "not sent again once rebuilt on alice's");
    assert.equal(await settled([alice, carol, newBob]), start + 1);
    assert.deepEqual(await leaves(carol), [named(alice), named(carol), named(newBob)]);
    assert.deepEqual([...alice.errors, ...carol.errors, ...newBob.errors], []);
  });

  test("the person's own new device removes them at once; the other members then commit nothing", async () => {
    const { server, alice, carol, newBob, newKey } = await afterReset();
    const start = server.epoch(ROOM) ?? assert.fail("the room has a group");
    // alice saw the new key when the new device joined, with the old leaves still there.
    await alice.sync.engine.scheduleSupersededRemoval(ROOM, "bob", newKey);
    const bobBefore = commits(newBob).length;
    await newBob.sync.engine.scheduleSupersededRemoval(ROOM, "bob", newKey, true);
    assert.deepEqual(newBob.scheduler.waiting, [], "first: nothing waits");
    assert.equal(commits(newBob).length - bobBefore, 1, "committed at once");
    assert.equal(await settled([alice, carol, newBob]), start + 1);
    const aliceBefore = commits(alice).length;
    await alice.scheduler.take().task();
    assert.equal(commits(alice).length, aliceBefore, "alice commits nothing");
    assert.equal(server.epoch(ROOM), start + 1);
    assert.deepEqual(await leaves(alice), [named(alice), named(carol), named(newBob)]);
    assert.deepEqual([...alice.errors, ...carol.errors, ...newBob.errors], []);
  });
});
