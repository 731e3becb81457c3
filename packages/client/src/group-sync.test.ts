import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMlsConfig } from "@parley/crypto";
import { bytesToBase64 } from "./base64.js";
import { encodeContent } from "./content.js";
import { DeviceKeys } from "./device.js";
import { asClientError } from "./errors.js";
import type { ErrorEvent, MembershipEvent, MessageEvent } from "./events.js";
import { GroupSync } from "./group-sync.js";
import { GroupStates } from "./groups.js";
import { KeyPins } from "./pins.js";
import { defaultTimers } from "./platform.js";
import { Scheduler } from "./scheduler.js";
import { MemoryStore } from "./store.js";
import { FakeDeliveryService, type FakeDevice } from "./testing/fake-delivery.js";
import { epochIn, settled as settleAll, until } from "./testing/settle.js";

const ROOM = "ROOM01";

interface Device {
  readonly name: string;
  readonly sync: GroupSync;
  readonly groups: GroupStates;
  readonly link: FakeDevice;
  readonly store: MemoryStore;
  readonly keys: DeviceKeys;
  readonly messages: MessageEvent[];
  readonly membership: MembershipEvent[];
  readonly errors: Omit<ErrorEvent, "error">[];
  readonly scheduler: Scheduler;
}

/** A device of user `name` on the fake server, with real MLS, a real store and real timers. */
async function device(
  server: FakeDeliveryService,
  name: string,
  existing?: { store: MemoryStore; link: FakeDevice },
): Promise<Device> {
  const store = existing?.store ?? new MemoryStore();
  const keys = new DeviceKeys(store, () => Date.now());
  const identity = await keys.ensure(name);
  const mls = createMlsConfig();
  const groups = new GroupStates(store, mls, defaultTimers);
  const messages: MessageEvent[] = [];
  const membership: MembershipEvent[] = [];
  const errors: Omit<ErrorEvent, "error">[] = [];
  const scheduler = new Scheduler(defaultTimers, (e) => errors.push({ code: asClientError(e).code }));
  let sync: GroupSync | undefined;
  const link =
    existing?.link ?? server.device({ userId: identity.userId, deviceId: identity.deviceId }, () => {});
  link.receive = (frame) => sync?.receive(frame);
  if (existing === undefined) {
    link.keyPackages = await keys.newKeyPackages(identity, 5);
    link.signatureKey = bytesToBase64(identity.signaturePublicKey);
  }
  sync = new GroupSync({
    groups,
    device: keys,
    pins: new KeyPins(store, { identityChanged: () => {}, deviceAdded: () => {} }),
    server: link,
    mls,
    identity: () => identity,
    scheduler,
    out: {
      message: (e) => void messages.push(e),
      sync: () => undefined,
      followed: () => undefined,
      membership: (e) => membership.push(e),
      error: (error, roomId, messageId) =>
        errors.push({
          code: error.code,
          ...(roomId !== undefined ? { roomId } : {}),
          ...(messageId !== undefined ? { messageId } : {}),
        }),
    },
    random: Math.random,
    syncTimeoutMs: 5000,
    commitRetries: 5,
  });
  return { name, sync, groups, link, store, keys, messages, membership, errors, scheduler };
}

/** alice's room with bob (and any others) in its group, every member at the same epoch. */
async function room(server: FakeDeliveryService, ...names: string[]): Promise<Device[]> {
  const devices: Device[] = [];
  for (const n of names) devices.push(await device(server, n));
  const [owner, ...others] = devices as [Device, ...Device[]];
  await owner.sync.engine.startGroup(ROOM, []);
  for (const d of others) await owner.sync.engine.addUser(ROOM, d.name);
  await settled(devices);
  return devices;
}

const epoch = (d: Device) => epochIn(d, ROOM);
const settled = (devices: Device[]) => settleAll(devices, ROOM);

async function send(from: Device, text: string): Promise<void> {
  const payload = await from.sync.crypto.encrypt(ROOM, encodeContent(text));
  await from.link.request(
    { type: "message.send", to: { room: ROOM }, payload: bytesToBase64(payload) },
    "ack",
  );
}

const texts = (d: Device) => d.messages.map((m) => m.text);
const commitsSent = (d: Device) => d.link.sent.filter((f) => f.type === "mls.commit").length;

describe("GroupSync against a fake delivery service", () => {
  test("a room's members exchange messages, each decrypted once", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob, carol] = (await room(server, "alice", "bob", "carol")) as [Device, Device, Device];
    assert.equal(await settled([alice, bob, carol]), 3, "create (1), add bob (2), add carol (3)");
    await send(alice, "hello");
    await send(bob, "hi");
    await settled([alice, bob, carol]);
    assert.deepEqual(texts(carol), ["hello", "hi"]);
    assert.deepEqual(texts(alice), ["hi"]);
    for (const d of [alice, bob, carol]) assert.deepEqual(d.errors, [], `${d.name} reported errors`);
  });

  test("a Commit whose answer was lost is merged when the GroupInfo shows it won, without a second Commit", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob] = (await room(server, "alice", "bob")) as [Device, Device];
    const start = await settled([alice, bob]);
    const before = commitsSent(alice);
    alice.link.loseAnswerTo = "mls.commit";
    const update = alice.sync.engine.selfUpdate(ROOM);
    await until(() => !alice.link.online, "the connection drops");
    alice.link.reconnect();
    await update;
    assert.equal(commitsSent(alice) - before, 1);
    assert.equal(await settled([alice, bob]), start + 1);
    await send(alice, "after");
    await settled([alice, bob]);
    assert.deepEqual(texts(bob), ["after"]);
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  });

  test("a Commit in doubt that others built on is settled from the handshake queue", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob] = (await room(server, "alice", "bob")) as [Device, Device];
    const start = await settled([alice, bob]);
    const before = commitsSent(alice);
    alice.link.loseAnswerTo = "mls.commit";
    const update = alice.sync.engine.selfUpdate(ROOM);
    await until(() => !alice.link.online, "the connection drops");
    // bob applies alice's Commit and commits on top while she is away.
    await bob.sync.drain();
    assert.equal(await epoch(bob), start + 1);
    await bob.sync.engine.selfUpdate(ROOM);
    alice.link.reconnect();
    await update;
    assert.equal(commitsSent(alice) - before, 1, "settled without a second Commit");
    assert.equal(await settled([alice, bob]), start + 2);
    await send(bob, "still here");
    await settled([alice, bob]);
    assert.deepEqual(texts(alice), ["still here"]);
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  });

  test("a Commit in doubt that lost its epoch is rebuilt on the winner", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob] = (await room(server, "alice", "bob")) as [Device, Device];
    const start = await settled([alice, bob]);
    const before = commitsSent(alice);
    alice.link.loseRequestTo = "mls.commit";
    const update = alice.sync.engine.selfUpdate(ROOM);
    await until(() => !alice.link.online, "the connection drops");
    await bob.sync.engine.selfUpdate(ROOM);
    alice.link.reconnect();
    await update;
    assert.equal(commitsSent(alice) - before, 2, "sent again on top of bob's");
    assert.equal(await settled([alice, bob]), start + 2);
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  });

  test("a Commit that lost to another (stale_epoch) is rebuilt once the winner arrives", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob] = (await room(server, "alice", "bob")) as [Device, Device];
    const start = await settled([alice, bob]);
    bob.link.holdHandshakes = true;
    await alice.sync.engine.selfUpdate(ROOM);
    const before = commitsSent(bob);
    const update = bob.sync.engine.selfUpdate(ROOM);
    await until(() => commitsSent(bob) > before, "bob's first Commit is refused");
    bob.link.release();
    await update;
    assert.equal(commitsSent(bob) - before, 2);
    assert.equal(await settled([alice, bob]), start + 2);
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  });

  test("a message that arrives before its epoch's Commit is held back and read once the Commit arrives", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob] = (await room(server, "alice", "bob")) as [Device, Device];
    const start = await settled([alice, bob]);
    bob.link.holdHandshakes = true;
    await alice.sync.engine.selfUpdate(ROOM);
    await send(alice, "from the new epoch");
    await bob.sync.drain();
    assert.deepEqual(texts(bob), [], "not readable yet");
    assert.deepEqual(bob.errors, [], "and not an error");
    bob.link.release();
    await settled([alice, bob]);
    await until(() => bob.messages.length === 1, "the held message is read");
    assert.equal(bob.messages[0]?.text, "from the new epoch");
    assert.equal(bob.messages[0]?.epoch, start + 1);
    assert.deepEqual(bob.errors, []);
  });

  test("a device that missed Commits rejoins by external Commit and reads what comes next", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob] = (await room(server, "alice", "bob")) as [Device, Device];
    bob.link.disconnect();
    await alice.sync.engine.selfUpdate(ROOM);
    bob.link.loseBacklog(); // the Commit for bob's epoch never reaches him
    bob.link.reconnect();
    await alice.sync.engine.selfUpdate(ROOM);
    await until(
      () => bob.membership.some((m) => m.source === "self" && m.event === "rejoined"),
      "bob rejoins",
    );
    const now = await settled([alice, bob]);
    assert.equal(now, server.epoch(ROOM));
    assert.deepEqual(
      bob.errors.map((e) => e.code),
      ["epoch_unavailable"],
      "the Commit he could not apply is reported once",
    );
    await send(alice, "welcome back");
    await settled([alice, bob]);
    assert.deepEqual(texts(bob), ["welcome back"]);
  });

  test("a new device of a member joins the rooms' groups by external Commit in the rejoin pass", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob] = (await room(server, "alice", "bob")) as [Device, Device];
    const phone = await device(server, "bob");
    await phone.sync.engine.rejoinRooms();
    assert.deepEqual(
      phone.membership.map((m) => (m.source === "self" ? m.event : m.source)),
      ["joined"],
    );
    await settled([alice, bob, phone]);
    await send(alice, "to both of bob's devices");
    await settled([alice, bob, phone]);
    assert.deepEqual(texts(phone), ["to both of bob's devices"]);
    assert.deepEqual(texts(bob), ["to both of bob's devices"]);
    assert.deepEqual([...alice.errors, ...bob.errors, ...phone.errors], []);
  });

  test("on reconnect the backlog is applied in order, queued messages decrypted, and both queues acknowledged", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob] = (await room(server, "alice", "bob")) as [Device, Device];
    bob.link.disconnect();
    await alice.sync.engine.selfUpdate(ROOM);
    await send(alice, "one");
    await alice.sync.engine.selfUpdate(ROOM);
    await send(alice, "two");
    assert.equal(bob.link.pendingHandshakes, 2);
    assert.equal(bob.link.pendingQueue, 2);
    bob.link.reconnect();
    await settled([alice, bob]);
    assert.deepEqual(texts(bob), ["one", "two"]);
    assert.ok(bob.messages.every((m) => m.queued === true));
    assert.equal(bob.link.pendingHandshakes, 0, "mls.ack sent");
    assert.equal(bob.link.pendingQueue, 0, "queue.ack sent");
    assert.deepEqual(bob.errors, []);
  });

  test("a restart after storing but before the acks arrived: the resent backlog is skipped, nothing is read twice", async () => {
    const server = new FakeDeliveryService();
    const [alice, bob] = (await room(server, "alice", "bob")) as [Device, Device];
    bob.link.disconnect();
    await alice.sync.engine.selfUpdate(ROOM);
    await send(alice, "once");
    bob.link.loseAcks = true;
    bob.link.reconnect();
    await settled([alice, bob]);
    assert.deepEqual(texts(bob), ["once"]);
    assert.equal(bob.link.pendingHandshakes, 1, "the ack never arrived");
    // bob's process dies; a new one starts on the same store and connects again.
    bob.link.disconnect();
    bob.link.loseAcks = false;
    const again = await device(server, "bob", { store: bob.store, link: bob.link });
    bob.link.reconnect();
    await settled([alice, again]);
    assert.deepEqual(texts(again), [], "nothing decrypted twice");
    assert.deepEqual(again.errors, [], "no replay reported");
    assert.equal(bob.link.pendingHandshakes, 0);
    assert.equal(bob.link.pendingQueue, 0);
    await send(alice, "and then");
    await settled([alice, again]);
    assert.deepEqual(texts(again), ["and then"]);
  });
});
