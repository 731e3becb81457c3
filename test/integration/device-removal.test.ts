import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type DeviceRemovedEvent,
  type IdentityChange,
  isParleyClientError,
  MemoryStore,
  type ParleyClient,
} from "@parley/client";
import {
  encodeRevocation,
  generateIdentityKey,
  identityKeyFromSeed,
  signDeviceRevocation,
} from "@parley/crypto";
import { PROTOCOL_VERSION } from "@parley/protocol";
import Database from "better-sqlite3";
import {
  login,
  registerUser,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { linkBySdk, nextEvent, type SdkUser, sdkClient, sdkSignUp } from "./support/sdk.js";
import { TestSocket } from "./support/ws-client.js";

// Issue 14, part 6 (IDENT-5): removing a device. Real server (SQLite in a temp dir), SDK clients.

async function eventually(check: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

/** A copy of a store as it is now: what a thief who imaged the device's disk would hold. */
function copyOf(store: MemoryStore): MemoryStore {
  const copy = new MemoryStore();
  for (const key of store.keys()) {
    const value = store.raw(key);
    if (value !== undefined) void copy.put(key, value);
  }
  return copy;
}

describe("removing a device (IDENT-5)", () => {
  let ts: TestServer;
  let dataDir: string;
  let db: Database.Database;
  const open: ParleyClient[] = [];
  const user = async (prefix: string): Promise<SdkUser> => {
    const u = await sdkSignUp(ts, prefix);
    open.push(u.client);
    return u;
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "parley-removal-"));
    // Each person here has two SDK devices and a raw socket on one frame budget (LIMIT-2): room
    // for what the devices send on their own while the raw socket tries its frames.
    ts = await startTestServer({ frameRate: 1000, frameBurst: 1000 }, { dataDir });
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

  it("takes the device out of every group, ends its sessions, erases it, and alarms nobody", async () => {
    const bob = await user("bob");
    const alice = await user("alice");
    const carol = await user("carol");
    const room = await bob.client.createRoom("team", { isPublic: false });
    await bob.client.invite(room.id, alice.id);
    await alice.client.join(room.id);
    const direct = await alice.client.openDirect(bob.id);
    // A room of carol's that bob joins: carol's client must follow the removal too.
    const carolRoom = await carol.client.createRoom("carol's", { isPublic: true });
    await bob.client.join(carolRoom.id);
    await alice.client.markVerified(bob.id);

    const phoneStore = new MemoryStore();
    const phone = sdkClient(ts, phoneStore);
    open.push(phone);
    const addedSeen: string[] = [];
    phone.on("device_added", (d) => addedSeen.push(`phone saw ${d.deviceId}`));
    bob.client.on("device_added", (d) => addedSeen.push(`laptop saw ${d.deviceId}`));
    await phone.login(bob.username, STRONG_PASSWORD);
    await linkBySdk(bob.client, phone);
    const phoneId = phone.deviceId ?? assert.fail("the phone has a device id");
    for (const id of [room.id, direct.id, carolRoom.id])
      await eventually(async () => (await phone.epoch(id)) !== undefined, `the phone joins ${id}`);
    await eventually(() => groupDevices(phoneId).length === 3, "the server lists the phone in 3 groups");
    // Each device hears of the other once, and never of itself (issue 14: a device is no news
    // to itself).
    await eventually(() => addedSeen.includes(`laptop saw ${phoneId}`), "the laptop hears of the phone");
    assert.equal(addedSeen.filter((s) => s === `laptop saw ${phoneId}`).length, 1);
    assert.equal(addedSeen.filter((s) => s === `phone saw ${phoneId}`).length, 0, addedSeen.join(", "));

    const aliceChanges: IdentityChange[] = [];
    alice.client.on("identity_changed", (c) => aliceChanges.push(c));
    const aliceHears = nextEvent(alice.client, "device_removed");
    const carolHears = nextEvent(carol.client, "device_removed");
    const phoneHears = nextEvent(phone, "this_device_removed");
    const stolen = copyOf(phoneStore);

    // Not this device itself, nor one the account does not have.
    await assert.rejects(bob.client.removeDevice(bob.client.deviceId ?? ""), (e) =>
      isParleyClientError(e, "invalid_target"),
    );
    await assert.rejects(bob.client.removeDevice("no-such-device"), (e) =>
      isParleyClientError(e, "device_not_found"),
    );

    await bob.client.removeDevice(phoneId);
    // AUDIT-1: the removal is in the audit log (its log line is written before the answer).
    const audited = ts.logs
      .flatMap((chunk) => chunk.split("\n"))
      .filter((line) => line.includes('"device_removed"'))
      .map(
        (line) =>
          JSON.parse(line) as { component?: string; userId?: string; details?: { deviceId?: string } },
      );
    assert.ok(
      audited.some((l) => l.component === "audit" && l.userId === bob.id && l.details?.deviceId === phoneId),
      "no device_removed audit entry",
    );

    const expected: DeviceRemovedEvent = { userId: bob.id, deviceId: phoneId };
    assert.deepEqual(await aliceHears, expected);
    assert.deepEqual(await carolHears, expected);
    assert.deepEqual(await phoneHears, expected);
    assert.deepEqual(phoneStore.keys(), [], "the removed device erased everything it held");
    await eventually(() => groupDevices(phoneId).length === 0, "no group holds the phone any more");
    assert.equal(await alice.client.trust(bob.id), "verified", "a removal is no key change");
    assert.deepEqual(aliceChanges, []);
    const bobDevices = await alice.client.devices(bob.id);
    assert.deepEqual(
      bobDevices.map((d) => d.deviceId),
      [bob.client.deviceId],
    );

    // What is said afterwards reaches bob's laptop, and nothing reaches the phone.
    const heard = nextEvent(bob.client, "message", (m) => m.text === "after the phone went");
    await alice.client.send(room.id, "after the phone went");
    await heard;

    // A copy of the phone's disk holds a session that has ended, and its device id is refused
    // even with the password.
    const thief = sdkClient(ts, stolen);
    open.push(thief);
    assert.equal(await thief.resume(), true);
    await assert.rejects(thief.connect(5000));
    await thief.close();
    const again = sdkClient(ts, copyOf(stolen));
    open.push(again);
    await again.login(bob.username, STRONG_PASSWORD);
    await assert.rejects(again.connect(5000), (e) => isParleyClientError(e, "device_removed"));
  });

  it("refuses a revocation the account's identity key did not sign, and a removed device's return", async () => {
    const erinStore = new MemoryStore();
    const erinClient = sdkClient(ts, erinStore);
    open.push(erinClient);
    const erinName = uniqueName("erin");
    const erin = {
      client: erinClient,
      id: (await erinClient.register(erinName, STRONG_PASSWORD)).id,
      username: erinName,
    };
    await erinClient.connect();
    const tablet = sdkClient(ts);
    open.push(tablet);
    await tablet.login(erin.username, STRONG_PASSWORD);
    await linkBySdk(erin.client, tablet);
    const tabletId = tablet.deviceId ?? assert.fail("the tablet has a device id");
    // A room with gina, whose group holds the tablet.
    const gina = await user("gina");
    const room = await erin.client.createRoom("ops", { isPublic: false });
    await erin.client.invite(room.id, gina.id);
    await gina.client.join(room.id);
    await tablet.join(room.id);
    await eventually(() => groupDevices(tabletId).length === 1, "the server lists the tablet in the group");
    const laptopId = erin.client.deviceId ?? assert.fail("the laptop has a device id");
    const devices = db
      .prepare("select device_id, signature_key from devices where user_id = ?")
      .all(erin.id) as {
      device_id: string;
      signature_key: string;
    }[];
    const tabletKey = Buffer.from(
      devices.find((d) => d.device_id === tabletId)?.signature_key ?? "",
      "base64",
    );

    // A raw socket speaking for erin's laptop, as a client that signs what it likes.
    const session = await login(ts, erin.username);
    const socket = await TestSocket.open(ts);
    socket.send({
      type: "auth",
      token: session.body.accessToken,
      protocolVersion: PROTOCOL_VERSION,
      deviceId: laptopId,
    });
    await socket.next("ready");
    const revoke = (key = generateIdentityKey(), deviceKey: Uint8Array = tabletKey, deviceId = tabletId) =>
      Buffer.from(
        encodeRevocation(signDeviceRevocation(key, { userId: erin.id, deviceId }, deviceKey, Date.now())),
      ).toString("base64");
    const answer = (frame: Record<string, unknown>) => socket.call({ type: "device.remove", ...frame });
    const code = (f: unknown) => (f as { type: string; code?: string }).code;

    assert.equal(code(await answer({ deviceId: tabletId, revocation: revoke() })), "revocation_invalid");
    assert.equal(code(await answer({ deviceId: tabletId, revocation: "AAAA" })), "revocation_invalid");
    assert.equal(code(await answer({ deviceId: "ghost", revocation: revoke() })), "device_not_found");
    assert.equal(code(await answer({ deviceId: laptopId, revocation: revoke() })), "invalid_target");
    assert.equal(
      code(await answer({ deviceId: "not a device id!", revocation: revoke() })),
      "validation_failed",
    );

    // Erin's real identity key (as her laptop keeps it) signing another key is still refused.
    const realKey = identityKeyFromSeed(
      (await erinStore.get("identity/key")) ?? assert.fail("no identity key"),
    );
    assert.equal(
      code(
        await answer({ deviceId: tabletId, revocation: revoke(realKey, generateIdentityKey().publicKey) }),
      ),
      "revocation_invalid",
    );
    const tabletGone = nextEvent(tablet, "this_device_removed");
    const ginaHears = nextEvent(gina.client, "device_removed");
    const removed = await answer({ deviceId: tabletId, revocation: revoke(realKey) });
    assert.equal(removed.type, "ok", JSON.stringify(removed));
    await tabletGone;
    assert.deepEqual(await ginaHears, { userId: erin.id, deviceId: tabletId });
    // No SDK made this removal, so nobody committed at once: the members' clients take the
    // tablet's leaf out of the group by themselves, after their delay.
    await eventually(
      () => groupDevices(tabletId).length === 0,
      "the members take the tablet out of the group",
    );
    assert.equal(code(await answer({ deviceId: tabletId, revocation: revoke(realKey) })), "device_not_found");

    // The removed id can never register again, nor connect.
    const back = await TestSocket.open(ts);
    back.send({
      type: "auth",
      token: session.body.accessToken,
      protocolVersion: PROTOCOL_VERSION,
      deviceId: tabletId,
    });
    const refused = await back.next("error");
    assert.equal(refused.code, "device_removed");
    assert.equal((await back.closed).code, 1008);
    socket.ws.close();
  });

  it("takes the old devices out of every group after an identity reset, so a lost phone reads nothing more", async () => {
    const bob = await user("bob");
    const alice = await user("alice");
    const room = await alice.client.createRoom("after the reset", { isPublic: false });
    await alice.client.invite(room.id, bob.id);
    await bob.client.join(room.id);
    const phone = sdkClient(ts);
    open.push(phone);
    await phone.login(bob.username, STRONG_PASSWORD);
    await linkBySdk(bob.client, phone);
    const phoneId = phone.deviceId ?? assert.fail("the phone has a device id");
    const oldLaptopId = bob.client.deviceId ?? assert.fail("the laptop has a device id");
    const bobsLeaves = async () =>
      (await alice.client.roomDevices(room.id))
        .filter((d) => d.userId === bob.id)
        .map((d) => d.deviceId)
        .sort();
    await eventually(
      async () => (await bobsLeaves()).join() === [oldLaptopId, phoneId].sort().join(),
      "alice's group holds bob's laptop and phone",
    );

    // Bob lost the phone (with its keys) and has no other device that could remove it: he
    // resets his identity on the laptop, which becomes a new device under a new key.
    const aliceSees = nextEvent(alice.client, "identity_changed", (c) => c.userId === bob.id);
    await bob.client.resetIdentity(STRONG_PASSWORD);
    const newLaptopId = bob.client.deviceId ?? assert.fail("the laptop has a new device id");
    assert.notEqual(newLaptopId, oldLaptopId);
    await aliceSees;
    await eventually(
      async () => (await bobsLeaves()).join() === newLaptopId,
      "only bob's new device is left in alice's group",
    );
    await eventually(
      () => groupDevices(phoneId).length === 0 && groupDevices(oldLaptopId).length === 0,
      "the server no longer lists the old devices in the group",
    );
    const heard = nextEvent(bob.client, "message", (m) => m.text === "welcome back");
    await alice.client.send(room.id, "welcome back");
    await heard;

    // And when bob leaves, his leaves leave with him: nothing stale blocks the Commit.
    await bob.client.leave(room.id);
    await eventually(async () => (await bobsLeaves()).length === 0, "bob's leaves leave with him");
    assert.equal(groupDevices(newLaptopId).length, 0);
  });

  it("has the other members take a reset person's old leaves out when the person's new device is away", async () => {
    // bob's laptop, whose store outlives its client: bob comes back on it later.
    const bobStore = new MemoryStore();
    const bobLaptop = sdkClient(ts, bobStore);
    open.push(bobLaptop);
    const bobName = uniqueName("bob");
    const bob = { client: bobLaptop, id: (await bobLaptop.register(bobName, STRONG_PASSWORD)).id };
    await bobLaptop.connect();
    const alice = await user("alice");
    const carol = await user("carol");
    const room = await alice.client.createRoom("while bob is away", { isPublic: false });
    for (const u of [bob, carol]) {
      await alice.client.invite(room.id, u.id);
      await u.client.join(room.id);
    }
    // Two raw sockets see what the server pushes: frank's (in the room, no device) and dave's
    // (who shares no room with bob).
    const frank = await registerUser(ts, uniqueName("frank"));
    const frankSocket = await TestSocket.authed(ts, frank.accessToken);
    await alice.client.invite(room.id, frank.user.id);
    assert.equal((await frankSocket.call({ type: "room.join", roomId: room.id })).type, "room");
    const dave = await registerUser(ts, uniqueName("dave"));
    const daveSocket = await TestSocket.authed(ts, dave.accessToken);
    const elsewhere = await alice.client.createRoom("without bob", { isPublic: true });
    assert.equal((await daveSocket.call({ type: "room.join", roomId: elsewhere.id })).type, "room");
    const phone = sdkClient(ts);
    open.push(phone);
    await phone.login(bobName, STRONG_PASSWORD);
    await linkBySdk(bobLaptop, phone);
    const phoneId = phone.deviceId ?? assert.fail("the phone has a device id");
    const oldLaptopId = bobLaptop.deviceId ?? assert.fail("the laptop has a device id");
    const bobsLeaves = async (client: ParleyClient) =>
      (await client.roomDevices(room.id))
        .filter((d) => d.userId === bob.id)
        .map((d) => d.deviceId)
        .sort();
    for (const client of [alice.client, carol.client])
      await eventually(
        async () => (await bobsLeaves(client)).join() === [oldLaptopId, phoneId].sort().join(),
        "the group holds bob's laptop and phone",
      );
    const serverEpoch = () =>
      (db.prepare("select epoch from mls_groups where room_id = ?").get(room.id) as { epoch: number }).epoch;
    await eventually(
      async () =>
        (await alice.client.epoch(room.id)) === serverEpoch() &&
        (await carol.client.epoch(room.id)) === serverEpoch(),
      "alice and carol are at the server's epoch",
    );
    const before = serverEpoch();
    const removals: string[] = [];
    const errors: string[] = [];
    for (const [name, client] of [
      ["alice", alice.client],
      ["carol", carol.client],
    ] as const) {
      client.on("membership", (e) => {
        if (e.source === "group" && e.roomId === room.id && e.removed.length > 0)
          removals.push(
            `${name} saw ${e.removed
              .map((d) => d.deviceId)
              .sort()
              .join("+")} removed by ${e.by?.userId}/${e.by?.deviceId}`,
          );
      });
      client.on("error", (e) => errors.push(`${name}: ${e.code}`));
    }

    // bob lost the phone and resets his identity on the laptop, which is closed before its new
    // device could rejoin the group (and so take the old leaves out itself). Nobody looks bob
    // up: the server's identity.reset hint, pushed when the new key's first device registered,
    // makes alice and carol check his devices, meet the new key, and schedule the removal;
    // alice's leaf comes first, so she commits.
    const aliceSees = nextEvent(alice.client, "identity_changed", (c) => c.userId === bob.id);
    const carolSees = nextEvent(carol.client, "identity_changed", (c) => c.userId === bob.id);
    await bobLaptop.resetIdentity(STRONG_PASSWORD);
    await bobLaptop.close();
    const newLaptopId = bobLaptop.deviceId ?? assert.fail("the laptop has a new device id");
    assert.notEqual(newLaptopId, oldLaptopId);
    assert.deepEqual(groupDevices(newLaptopId), [], "the new device did not rejoin");
    assert.deepEqual([groupDevices(oldLaptopId), groupDevices(phoneId)], [[room.id], [room.id]]);
    assert.equal(serverEpoch(), before, "and committed nothing");

    await Promise.all([aliceSees, carolSees]);
    // The hint names bob and carries no key; it went once, and not to dave.
    assert.deepEqual(await frankSocket.next("identity.reset"), { type: "identity.reset", userId: bob.id });
    assert.deepEqual(
      (await frankSocket.settle()).filter((f) => f.type === "identity.reset"),
      [],
      "one hint for one reset",
    );
    assert.deepEqual(
      (await daveSocket.settle()).filter((f) => f.type === "identity.reset"),
      [],
      "nobody outside bob's rooms hears of it",
    );
    frankSocket.close();
    daveSocket.close();
    for (const client of [alice.client, carol.client])
      await eventually(
        async () => (await bobsLeaves(client)).length === 0,
        "bob's old leaves leave the group",
      );
    await eventually(
      () => groupDevices(phoneId).length === 0 && groupDevices(oldLaptopId).length === 0,
      "the server no longer lists the old devices in the group",
    );
    // carol's turn comes 1 s after alice's (plus under 0.5 s of jitter): let it pass, then the
    // group must have moved by exactly one Commit.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(serverEpoch(), before + 1, "one Commit removed the old leaves");
    const by = `${alice.id}/${alice.client.deviceId}`;
    const gone = [oldLaptopId, phoneId].sort().join("+");
    assert.deepEqual(removals.sort(), [
      `alice saw ${gone} removed by ${by}`,
      `carol saw ${gone} removed by ${by}`,
    ]);
    assert.equal(await carol.client.epoch(room.id), before + 1);
    const carolHears = nextEvent(carol.client, "message", (m) => m.text === "while bob is away");
    await alice.client.send(room.id, "while bob is away");
    await carolHears;

    // bob comes back on the laptop: its new device joins the group and reads what is said from
    // then on; what was said before it joined was never for it.
    const back = sdkClient(ts, bobStore);
    open.push(back);
    const bobHeard: string[] = [];
    back.on("message", (m) => bobHeard.push(m.text ?? ""));
    assert.equal(await back.resume(), true);
    await back.connect();
    assert.equal(back.deviceId, newLaptopId);
    await eventually(
      async () => (await bobsLeaves(alice.client)).join() === newLaptopId,
      "bob's new device joins alice's group",
    );
    const heard = nextEvent(back, "message", (m) => m.text === "welcome back");
    await alice.client.send(room.id, "welcome back");
    await heard;
    assert.deepEqual(bobHeard, ["welcome back"]);
    assert.deepEqual(errors, []);
  });
});
