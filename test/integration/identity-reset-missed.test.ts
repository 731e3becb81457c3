import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type IdentityChange, MemoryStore, type ParleyClient } from "@parley/client";
import Database from "better-sqlite3";
import { until } from "../e2e/support/wait.js";
import {
  registerUser,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { linkBySdk, nextEvent, sdkClient } from "./support/sdk.js";
import { TestSocket } from "./support/ws-client.js";

// IDENT-4 for people who were away: the server pushes `identity.reset` only to connected
// devices, so a device that comes back asks for the resets it missed (`identity.resets.list`)
// and looks those people up. Real server (SQLite in a temp dir), SDK clients whose stores
// outlive them: a new client on a store is the same device coming back.

/** The shared bounded poll (e2e/support/wait.ts `until`), for checks that answer true or false. */
const eventually = (check: () => Promise<boolean> | boolean, what: string) =>
  until(async () => check(), what);

/** A device: its store outlives each client made on it. */
interface Device {
  readonly store: MemoryStore;
  client: ParleyClient;
}

describe("an identity reset reaches people who were away (IDENT-4)", () => {
  let ts: TestServer;
  let dataDir: string;
  let db: Database.Database;
  const open: ParleyClient[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "parley-reset-missed-"));
    ts = await startTestServer({}, { dataDir });
    db = new Database(join(dataDir, "parley.db"), { readonly: true });
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    db.close();
    await ts.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const groupDevices = (deviceId: string) =>
    (
      db.prepare("select room_id from mls_group_devices where device_id = ?").all(deviceId) as {
        room_id: string;
      }[]
    ).map((r) => r.room_id);

  async function signUp(prefix: string): Promise<Device & { id: string; username: string }> {
    const store = new MemoryStore();
    const client = sdkClient(ts, store);
    open.push(client);
    const username = uniqueName(prefix);
    const { id } = await client.register(username, STRONG_PASSWORD);
    await client.connect();
    return { store, client, id, username };
  }

  /** The device is started again: a new client on its store (connect it with comeBack). */
  function restart(device: Device): ParleyClient {
    device.client = sdkClient(ts, device.store);
    open.push(device.client);
    return device.client;
  }

  /** The restarted device comes back, signed in as before. */
  async function comeBack(device: Device): Promise<void> {
    assert.equal(await device.client.resume(), true);
    await device.client.connect();
  }

  function watch(client: ParleyClient) {
    const changes: IdentityChange[] = [];
    const errors: string[] = [];
    client.on("identity_changed", (c) => changes.push(c));
    client.on("error", (e) => errors.push(e.code));
    return { changes, errors };
  }

  const leavesOf = async (client: ParleyClient, roomId: string, userId: string) =>
    (await client.roomDevices(roomId))
      .filter((d) => d.userId === userId)
      .map((d) => d.deviceId)
      .sort();

  async function talk(from: ParleyClient, to: ParleyClient, roomId: string, text: string): Promise<void> {
    const heard = nextEvent(to, "message", (m) => m.text === text);
    await from.send(roomId, text);
    await heard;
  }

  it("warns who was away of a reset whose new device went away at once, takes the old leaves out, and both talk after", async () => {
    const alice = await signUp("alice");
    const bob = await signUp("bob");
    const room = await alice.client.createRoom("while bob sleeps", { isPublic: false });
    await alice.client.invite(room.id, bob.id);
    await bob.client.join(room.id);
    await talk(alice.client, bob.client, room.id, "before the reset");
    await bob.client.markVerified(alice.id);
    const oldAliceId = alice.client.deviceId ?? assert.fail("alice has a device");
    await eventually(
      async () => (await leavesOf(bob.client, room.id, alice.id)).join() === oldAliceId,
      "bob's group holds alice's device",
    );

    // Bob goes away. Alice lost her phone's keys, resets on the laptop and closes it before it
    // could rejoin the group: nobody online meets her new key, and no Commit waits for bob.
    await bob.client.close();
    await alice.client.resetIdentity(STRONG_PASSWORD);
    await alice.client.close();
    const newAliceId = alice.client.deviceId ?? assert.fail("alice has a new device");
    assert.notEqual(newAliceId, oldAliceId);
    assert.deepEqual(groupDevices(newAliceId), [], "the new device did not rejoin");
    assert.deepEqual(groupDevices(oldAliceId), [room.id], "the old leaf is still in the group");

    // Bob comes back: his client learns of the reset, raises the alarm (he had verified her)
    // and takes her old leaf out of the group.
    const bobSees = watch(restart(bob));
    const warned = nextEvent(bob.client, "identity_changed", (c) => c.userId === alice.id);
    await comeBack(bob);
    const change = await warned;
    assert.equal(change.deviceId, newAliceId, "the key of alice's new device");
    assert.equal(change.wasVerified, true);
    assert.equal(await bob.client.trust(alice.id), "changed");
    await eventually(
      async () => (await leavesOf(bob.client, room.id, alice.id)).length === 0,
      "alice's old leaf leaves bob's group",
    );
    await eventually(() => groupDevices(oldAliceId).length === 0, "the server drops the old leaf too");

    // Alice comes back on her laptop: its new device joins, and they talk both ways.
    restart(alice);
    await comeBack(alice);
    await eventually(
      async () => (await leavesOf(bob.client, room.id, alice.id)).join() === newAliceId,
      "alice's new device joins bob's group",
    );
    await talk(alice.client, bob.client, room.id, "new keys, same alice");
    await talk(bob.client, alice.client, room.id, "welcome back");
    assert.equal(bobSees.changes.length, 1, "one alarm for one reset");
    assert.deepEqual(bobSees.errors, []);
  });

  it("warns who was away when the reset's new device stayed and rejoined, and both talk after", async () => {
    const alice = await signUp("alice");
    const bob = await signUp("bob");
    const direct = await bob.client.openDirect(alice.id);
    await talk(bob.client, alice.client, direct.id, "hello");
    await bob.client.close();

    // A new phone of alice's, with no device at hand to link it from: she resets there. Her
    // laptop is signed out; the phone joins the conversation while bob is away.
    const phone = sdkClient(ts);
    open.push(phone);
    await phone.login(alice.username, STRONG_PASSWORD);
    await phone.resetIdentity(STRONG_PASSWORD);
    const phoneId = phone.deviceId ?? assert.fail("the phone has a device");
    await eventually(() => groupDevices(phoneId).includes(direct.id), "the phone joins the conversation");

    const warned = nextEvent(restart(bob), "identity_changed", (c) => c.userId === alice.id);
    await comeBack(bob);
    assert.equal((await warned).wasVerified, false);
    assert.equal(await bob.client.trust(alice.id), "changed_unverified");
    await eventually(
      async () => (await leavesOf(bob.client, direct.id, alice.id)).join() === phoneId,
      "only the phone is in bob's group",
    );
    await talk(phone, bob.client, direct.id, "from my new phone");
    await talk(bob.client, phone, direct.id, "got it");
  });

  it("does not cry wolf: a second device linked while one was away is news, not an alarm", async () => {
    const alice = await signUp("alice");
    const bob = await signUp("bob");
    const direct = await bob.client.openDirect(alice.id);
    await talk(bob.client, alice.client, direct.id, "hello");
    await bob.client.close();
    const tablet = sdkClient(ts);
    open.push(tablet);
    await tablet.login(alice.username, STRONG_PASSWORD);
    await linkBySdk(alice.client, tablet);
    const tabletId = tablet.deviceId ?? assert.fail("the tablet has a device");
    await eventually(() => groupDevices(tabletId).includes(direct.id), "the tablet joins the conversation");

    const bobSees = watch(restart(bob));
    const added = nextEvent(bob.client, "device_added", (d) => d.deviceId === tabletId);
    await comeBack(bob);
    await added;
    await talk(tablet, bob.client, direct.id, "from the tablet");
    assert.deepEqual(bobSees.changes, [], "no alarm");
    assert.equal(await bob.client.trust(alice.id), "unverified");
    assert.deepEqual(bobSees.errors, []);
  });

  it("answers who reset since a time only with people sharing a room, and checks the frame", async () => {
    const alice = await signUp("alice");
    const frank = await registerUser(ts, uniqueName("frank"));
    const dave = await registerUser(ts, uniqueName("dave"));
    const room = await alice.client.createRoom("frank's room", { isPublic: false });
    await alice.client.invite(room.id, frank.user.id);
    const frankSocket = await TestSocket.authed(ts, frank.accessToken);
    assert.equal((await frankSocket.call({ type: "room.join", roomId: room.id })).type, "room");
    const daveSocket = await TestSocket.authed(ts, dave.accessToken);
    const ask = async (socket: TestSocket, since: number) => {
      const answer = await socket.call({ type: "identity.resets.list", since });
      assert.equal(answer.type, "identity.resets");
      return (answer as { userIds: string[] }).userIds;
    };
    assert.deepEqual(await ask(frankSocket, 0), [], "a first key is no reset");
    const asked = Date.now();

    await alice.client.resetIdentity(STRONG_PASSWORD);
    await eventually(async () => (await ask(frankSocket, asked)).length > 0, "frank can ask for the reset");
    assert.deepEqual(await ask(frankSocket, asked), [alice.id]);
    assert.deepEqual(await ask(daveSocket, asked), [], "nobody outside her rooms hears of it");
    // A day later by the server's clock, this reset is old news.
    assert.deepEqual(await ask(frankSocket, Date.now() + 86_400_000), []);
    for (const bad of [-1, 1.5, "0"]) {
      const answer = await frankSocket.call({ type: "identity.resets.list", since: bad });
      assert.equal(answer.type, "error");
      assert.equal((answer as { code?: string }).code, "validation_failed");
    }
    frankSocket.close();
    daveSocket.close();
  });
});
