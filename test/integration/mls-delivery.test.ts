import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  addMembers,
  createGroup,
  type DeviceIdentity,
  encryptApplicationMessage,
  exportGroupInfo,
  type GroupState,
  generateDeviceIdentity,
  generateIdentityKey,
  generateKeyPackages,
  generateLastResortKeyPackage,
  groupEpoch,
  type IdentityKeyPair,
  joinFromWelcome,
  type KeyPackageBundle,
  mergePendingCommit,
  processMessage,
  selfUpdate,
} from "@parley/crypto";
import { PROTOCOL_VERSION, type ServerFrame } from "@parley/protocol";
import { registerUser, startTestServer, type TestServer } from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const bytes = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

interface Device {
  userId: string;
  deviceId: string;
  token: string;
  identity: DeviceIdentity;
  /** The person's identity key, which certifies each of their devices (IDENT-1). */
  identityKey: IdentityKeyPair;
  bundles: KeyPackageBundle[];
  socket: TestSocket;
}

async function connectDevice(ts: TestServer, token: string, deviceId: string): Promise<TestSocket> {
  const socket = await TestSocket.open(ts);
  socket.send({ type: "auth", token, protocolVersion: PROTOCOL_VERSION, deviceId });
  await socket.next("ready");
  return socket;
}

/** A device of a new account, or (with `of`) another device of that device's account. */
async function newDevice(ts: TestServer, count = 3, of?: Device): Promise<Device> {
  const token = of?.token;
  const userId = of?.userId;
  const identityKey = of?.identityKey ?? generateIdentityKey();
  let t = token;
  let u = userId;
  if (t === undefined || u === undefined) {
    const session = await registerUser(ts);
    t = session.accessToken;
    u = session.user.id;
  }
  const deviceId = `dev${Math.floor(Math.random() * 1e9)}`;
  const identity = await generateDeviceIdentity({ userId: u, deviceId }, identityKey);
  const bundles = await generateKeyPackages(identity, count);
  const last = await generateLastResortKeyPackage(identity);
  const socket = await connectDevice(ts, t, deviceId);
  const answer = await socket.call({
    type: "device.register",
    deviceId,
    signatureKey: b64(identity.signaturePublicKey),
    keyPackages: bundles.map((b) => b64(b.keyPackage)),
    lastResort: b64(last.keyPackage),
  });
  assert.equal(answer.type, "keypackages.count", JSON.stringify(answer));
  return { userId: u, deviceId, token: t, identity, identityKey, bundles: [...bundles, last], socket };
}

function expect<T extends ServerFrame["type"]>(f: ServerFrame, type: T): Extract<ServerFrame, { type: T }> {
  assert.equal(f.type, type, JSON.stringify(f));
  return f as Extract<ServerFrame, { type: T }>;
}

async function commitFrame(
  roomId: string,
  pending: Awaited<ReturnType<typeof selfUpdate>>,
  extra: object = {},
) {
  return {
    type: "mls.commit",
    roomId,
    epoch: Number(pending.epoch),
    commit: b64(pending.commit),
    groupInfo: b64(await exportGroupInfo(pending.newState)),
    ...(pending.welcome ? { welcome: b64(pending.welcome) } : {}),
    ...extra,
  };
}

describe("MLS delivery service", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ frameRate: 1000, frameBurst: 1000 });
  });
  after(() => ts.stop());

  test("binds a device key to the account and refuses packages that are not the device's", async () => {
    const alice = await newDevice(ts);
    const mallory = await newDevice(ts);
    // Mallory uploads a KeyPackage carrying Alice's credential: the Authentication Service refuses it.
    const forged = await generateKeyPackages(alice.identity, 1);
    const refused = await mallory.socket.call({
      type: "keypackages.upload",
      keyPackages: forged.map((b) => b64(b.keyPackage)),
    });
    assert.equal(expect(refused, "error").code, "key_package_invalid");
    // The same device id with another key is a different device: refused.
    const other = await generateDeviceIdentity({ userId: alice.userId, deviceId: alice.deviceId });
    const swap = await alice.socket.call({
      type: "device.register",
      deviceId: alice.deviceId,
      signatureKey: b64(other.signaturePublicKey),
      keyPackages: [],
      lastResort: b64((await generateLastResortKeyPackage(other)).keyPackage),
    });
    assert.equal(expect(swap, "error").code, "device_key_mismatch");
    // A connection without a device cannot commit.
    const plain = await TestSocket.authed(ts, alice.token);
    const noDevice = await plain.call({ type: "mls.ack", upTo: 1, rid: "x" });
    assert.equal(expect(noDevice, "error").code, "device_required");
    for (const s of [alice.socket, mallory.socket, plain]) s.close();
  });

  test("a device holds at most 200 KeyPackages: an upload beyond is refused whole, registering again keeps the cap", async () => {
    const alice = await newDevice(ts, 100);
    const batch = async () => (await generateKeyPackages(alice.identity, 100)).map((b) => b64(b.keyPackage));
    const upload = async (keyPackages: string[]) =>
      alice.socket.call({ type: "keypackages.upload", keyPackages });
    assert.equal(expect(await upload(await batch()), "keypackages.count").remaining, 200);
    const full = expect(await upload(await batch()), "error");
    assert.deepEqual([full.code, full.details], ["key_packages_full", ["/keyPackages"]]);
    // Registering again (the first answer was lost) succeeds; what is over the cap is dropped.
    const again = await alice.socket.call({
      type: "device.register",
      deviceId: alice.deviceId,
      signatureKey: b64(alice.identity.signaturePublicKey),
      keyPackages: await batch(),
      lastResort: b64((await generateLastResortKeyPackage(alice.identity)).keyPackage),
    });
    assert.equal(expect(again, "keypackages.count").remaining, 200);
    // A claim makes room for one.
    const bob = await newDevice(ts);
    expect(await bob.socket.call({ type: "keypackages.claim", userId: alice.userId }), "keypackages");
    const [one] = await batch();
    assert.equal(expect(await upload([one!]), "keypackages.count").remaining, 200);
    alice.socket.close();
    bob.socket.close();
  });

  test("a claim consumes single-use packages, then hands out the last resort, and warns the owner", async () => {
    const bob = await newDevice(ts, 2);
    const carol = await newDevice(ts);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const claim = expect(
        await carol.socket.call({ type: "keypackages.claim", userId: bob.userId }),
        "keypackages",
      );
      assert.equal(claim.devices.length, 1);
      seen.add(claim.devices[0]?.keyPackage ?? "");
    }
    // Two single-use packages and then the same last resort twice.
    assert.equal(seen.size, 3);
    const low = await bob.socket.next("keypackages.count");
    assert.equal(low.low, true);
    bob.socket.close();
    carol.socket.close();
  });

  test("a device claiming its own account's packages gets its other devices', none of its own", async () => {
    const phone = await newDevice(ts, 2);
    const laptop = await newDevice(ts, 2, phone);
    const own = expect(
      await phone.socket.call({ type: "keypackages.claim", userId: phone.userId }),
      "keypackages",
    );
    assert.deepEqual(
      own.devices.map((d) => d.deviceId),
      [laptop.deviceId],
    );
    // The phone's two single-use packages are still there for others: then its last resort.
    const carol = await newDevice(ts);
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const claim = expect(
        await carol.socket.call({ type: "keypackages.claim", userId: phone.userId }),
        "keypackages",
      );
      seen.add(claim.devices.find((d) => d.deviceId === phone.deviceId)?.keyPackage ?? "");
    }
    assert.equal(seen.size, 3, "two single-use packages of the phone, then its last resort");
    for (const d of [phone, laptop, carol]) d.socket.close();
  });

  test("adds a member with a Welcome, orders competing commits, and queues them durably", async () => {
    const alice = await newDevice(ts);
    const bob = await newDevice(ts);
    const room = expect(
      await alice.socket.call({ type: "room.create", name: "e2ee", isPublic: true }),
      "room",
    );
    const roomId = room.room.id;
    await bob.socket.call({ type: "room.join", roomId });

    let aliceState: GroupState = await createGroup(alice.identity, {
      groupId: new TextEncoder().encode(roomId),
    });
    const claim = expect(
      await alice.socket.call({ type: "keypackages.claim", userId: bob.userId }),
      "keypackages",
    );
    const add = await addMembers(aliceState, [bytes(claim.devices[0]?.keyPackage ?? "")]);
    const accepted = await alice.socket.call(
      await commitFrame(roomId, add, { addDevices: [{ userId: bob.userId, deviceId: bob.deviceId }] }),
    );
    assert.equal(expect(accepted, "mls.accepted").epoch, 1);
    aliceState = mergePendingCommit(add);

    const welcome = await bob.socket.next("mls.handshake");
    assert.equal(welcome.kind, "welcome");
    let bobState = await joinFromWelcome(bytes(welcome.payload), bob.bundles, bob.identity);
    bob.socket.send({ type: "mls.ack", upTo: welcome.seq });
    assert.equal(groupEpoch(bobState), 1n);

    // Both commit at epoch 1 at once: exactly one wins, the other is told the current epoch.
    const [a, b] = await Promise.all([selfUpdate(aliceState), selfUpdate(bobState)]);
    const answers = await Promise.all([
      alice.socket.call(await commitFrame(roomId, a)),
      bob.socket.call(await commitFrame(roomId, b)),
    ]);
    const winners = answers.filter((f) => f.type === "mls.accepted");
    const losers = answers.filter((f) => f.type === "error");
    assert.equal(winners.length, 1, JSON.stringify(answers));
    assert.equal(losers.length, 1);
    assert.equal(losers[0]?.type === "error" && losers[0].code, "stale_epoch");
    assert.equal(losers[0]?.type === "error" && losers[0].epoch, 2);

    // The loser applies the winning commit from its queue; both reach epoch 2 and can talk.
    const aliceWon = answers[0]?.type === "mls.accepted";
    if (aliceWon) {
      aliceState = mergePendingCommit(a);
      const c = await bob.socket.next("mls.handshake");
      const r = await processMessage(bobState, bytes(c.payload));
      bobState = r.state;
      bob.socket.send({ type: "mls.ack", upTo: c.seq });
    } else {
      bobState = mergePendingCommit(b);
      const c = await alice.socket.next("mls.handshake");
      const r = await processMessage(aliceState, bytes(c.payload));
      aliceState = r.state;
      alice.socket.send({ type: "mls.ack", upTo: c.seq });
    }
    assert.equal(groupEpoch(aliceState), 2n);
    assert.equal(groupEpoch(bobState), 2n);
    const sealed = await encryptApplicationMessage(aliceState, new TextEncoder().encode("converged"));
    aliceState = sealed.state;
    await alice.socket.call({ type: "message.send", to: { room: roomId }, payload: b64(sealed.message) });
    const got = await bob.socket.next("message");
    const opened = await processMessage(bobState, bytes(got.payload));
    assert.equal(opened.kind, "application");
    assert.equal(opened.kind === "application" && new TextDecoder().decode(opened.plaintext), "converged");
    alice.socket.close();
    bob.socket.close();
  });

  test("an invited user added by Welcome follows later commits before joining the room", async () => {
    const alice = await newDevice(ts);
    const bob = await newDevice(ts);
    const roomId = expect(
      await alice.socket.call({ type: "room.create", name: "invite-first", isPublic: false }),
      "room",
    ).room.id;
    expect(await alice.socket.call({ type: "room.invite", roomId, userId: bob.userId }), "ok");
    let aliceState = await createGroup(alice.identity, { groupId: new TextEncoder().encode(roomId) });
    const claim = expect(
      await alice.socket.call({ type: "keypackages.claim", userId: bob.userId }),
      "keypackages",
    );
    const add = await addMembers(aliceState, [bytes(claim.devices[0]?.keyPackage ?? "")]);
    expect(
      await alice.socket.call(
        await commitFrame(roomId, add, { addDevices: [{ userId: bob.userId, deviceId: bob.deviceId }] }),
      ),
      "mls.accepted",
    );
    aliceState = mergePendingCommit(add);
    const update = await selfUpdate(aliceState);
    expect(await alice.socket.call(await commitFrame(roomId, update)), "mls.accepted");
    // Bob has not joined the room, yet he gets the Welcome and the later Commit, in order.
    const welcome = await bob.socket.next("mls.handshake");
    const commit = await bob.socket.next("mls.handshake");
    assert.deepEqual([welcome.kind, commit.kind], ["welcome", "commit"]);
    let bobState = await joinFromWelcome(bytes(welcome.payload), bob.bundles, bob.identity);
    bobState = (await processMessage(bobState, bytes(commit.payload))).state;
    assert.equal(groupEpoch(bobState), groupEpoch(mergePendingCommit(update)));
    alice.socket.close();
    bob.socket.close();
  });

  test("a first Commit that lost the race to create the group is told stale_epoch", async () => {
    const alice = await newDevice(ts);
    const bob = await newDevice(ts);
    const roomId = expect(
      await alice.socket.call({ type: "room.create", name: "race", isPublic: true }),
      "room",
    ).room.id;
    await bob.socket.call({ type: "room.join", roomId });
    const gid = new TextEncoder().encode(roomId);
    const first = await selfUpdate(await createGroup(alice.identity, { groupId: gid }));
    expect(await alice.socket.call(await commitFrame(roomId, first)), "mls.accepted");
    const late = await selfUpdate(await createGroup(bob.identity, { groupId: gid }));
    const refused = expect(await bob.socket.call(await commitFrame(roomId, late)), "error");
    assert.deepEqual([refused.code, refused.epoch], ["stale_epoch", 1]);
    alice.socket.close();
    bob.socket.close();
  });

  test("refuses commits that do not fit the room's group", async () => {
    const alice = await newDevice(ts);
    const outsider = await newDevice(ts);
    const room = expect(
      await alice.socket.call({ type: "room.create", name: "rules", isPublic: false }),
      "room",
    );
    const roomId = room.room.id;
    const state = await createGroup(alice.identity, { groupId: new TextEncoder().encode(roomId) });
    const claim = expect(
      await alice.socket.call({ type: "keypackages.claim", userId: outsider.userId }),
      "keypackages",
    );
    const add = await addMembers(state, [bytes(claim.devices[0]?.keyPackage ?? "")]);
    // Adding someone who is neither a member nor invited.
    const notInvited = await alice.socket.call(
      await commitFrame(roomId, add, {
        addDevices: [{ userId: outsider.userId, deviceId: outsider.deviceId }],
      }),
    );
    assert.equal(expect(notInvited, "error").code, "not_invited");
    // A commit whose epoch field lies about the message's epoch.
    const lie = await alice.socket.call({ ...(await commitFrame(roomId, add)), epoch: 7 });
    assert.equal(expect(lie, "error").code, "commit_invalid");
    // Another room's group id.
    const other = await createGroup(alice.identity, { groupId: new TextEncoder().encode("ZZZZZZ") });
    const wrongGroup = await alice.socket.call(await commitFrame(roomId, await selfUpdate(other)));
    assert.equal(expect(wrongGroup, "error").code, "commit_invalid");
    // A non-member of the room cannot commit to it.
    const outsiderState = await createGroup(outsider.identity, { groupId: new TextEncoder().encode(roomId) });
    const intruder = await outsider.socket.call(await commitFrame(roomId, await selfUpdate(outsiderState)));
    assert.equal(expect(intruder, "error").code, "not_a_member");
    alice.socket.close();
    outsider.socket.close();
  });

  test("membership is read from the Commit itself: other declarations, unbound keys and lying GroupInfos are refused", async () => {
    const alice = await newDevice(ts);
    const bob = await newDevice(ts);
    const room = expect(
      await alice.socket.call({ type: "room.create", name: "audit", isPublic: true }),
      "room",
    );
    const roomId = room.room.id;
    await bob.socket.call({ type: "room.join", roomId });
    const bobDevice = { userId: bob.userId, deviceId: bob.deviceId };
    const refused = async (frame: Record<string, unknown>, details: string) => {
      const answer = expect(await alice.socket.call(frame), "error");
      assert.deepEqual([answer.code, answer.details], ["commit_invalid", [details]]);
    };
    const state = await createGroup(alice.identity, { groupId: new TextEncoder().encode(roomId) });

    // A KeyPackage made for Bob's device id with a key the server never bound to it.
    const impostor = await generateDeviceIdentity({ userId: bob.userId, deviceId: bob.deviceId });
    const [forged] = await generateKeyPackages(impostor, 1);
    const fake = await addMembers(state, [forged!.keyPackage]);
    await refused(await commitFrame(roomId, fake, { addDevices: [bobDevice] }), "/addDevices");

    // Bob's real package, but the client says it adds nobody.
    const claim = expect(
      await alice.socket.call({ type: "keypackages.claim", userId: bob.userId }),
      "keypackages",
    );
    const add = await addMembers(state, [bytes(claim.devices[0]?.keyPackage ?? "")]);
    await refused(await commitFrame(roomId, add), "/addDevices");
    // A GroupInfo that is not the one this Commit leads to.
    await refused(
      { ...(await commitFrame(roomId, add)), groupInfo: b64(await exportGroupInfo(fake.newState)) },
      "/groupInfo",
    );
    // Nothing of that was recorded: Bob got no Welcome, and the honest Commit is the first one.
    const accepted = await alice.socket.call(await commitFrame(roomId, add, { addDevices: [bobDevice] }));
    assert.equal(expect(accepted, "mls.accepted").epoch, 1);
    const welcome = await bob.socket.next("mls.handshake");
    assert.equal(welcome.kind, "welcome");
    const aliceState = mergePendingCommit(add);

    // Later Commits are checked against the GroupInfo the server holds: a self-update that
    // claims to remove Bob, and a Commit whose signature was made with another key.
    const update = await selfUpdate(aliceState);
    await refused(await commitFrame(roomId, update, { removeDevices: [bobDevice] }), "/removeDevices");
    const tampered = new Uint8Array(update.commit);
    // The PublicMessage ends with the signature, then the confirmation and membership tags
    // (each a 1-byte length and 32 bytes): this flips a byte of the signature.
    tampered[tampered.length - 70]! ^= 1;
    await refused({ ...(await commitFrame(roomId, update)), commit: b64(tampered) }, "/commit");
    const fine = await alice.socket.call(await commitFrame(roomId, update));
    assert.equal(expect(fine, "mls.accepted").epoch, 2);
    alice.socket.close();
    bob.socket.close();
  });

  test("a device offline during commits gets them in order on reconnect, also after a server restart", async () => {
    // One data dir for both lives of the server, owned (and removed) by this test.
    const dataDir = await mkdtemp(join(tmpdir(), "parley-restart-"));
    const persistent = await startTestServer({ frameRate: 1000, frameBurst: 1000 }, { dataDir });
    let restarted: TestServer | undefined;
    try {
      const alice = await newDevice(persistent);
      const bob = await newDevice(persistent);
      const roomId = expect(
        await alice.socket.call({ type: "room.create", name: "queue", isPublic: true }),
        "room",
      ).room.id;
      await bob.socket.call({ type: "room.join", roomId });
      let aliceState = await createGroup(alice.identity, { groupId: new TextEncoder().encode(roomId) });
      const claim = expect(
        await alice.socket.call({ type: "keypackages.claim", userId: bob.userId }),
        "keypackages",
      );
      const add = await addMembers(aliceState, [bytes(claim.devices[0]?.keyPackage ?? "")]);
      await alice.socket.call(
        await commitFrame(roomId, add, { addDevices: [{ userId: bob.userId, deviceId: bob.deviceId }] }),
      );
      aliceState = mergePendingCommit(add);
      bob.socket.close();
      await bob.socket.closed;

      // Two commits while Bob is away.
      for (let i = 0; i < 2; i++) {
        const p = await selfUpdate(aliceState);
        expect(await alice.socket.call(await commitFrame(roomId, p)), "mls.accepted");
        aliceState = mergePendingCommit(p);
      }
      alice.socket.close();
      await persistent.stop();

      restarted = await startTestServer({ frameRate: 1000, frameBurst: 1000 }, { dataDir });
      const back = await connectDevice(restarted, bob.token, bob.deviceId);
      const queued = [
        await back.next("mls.handshake"),
        await back.next("mls.handshake"),
        await back.next("mls.handshake"),
      ];
      assert.deepEqual(
        queued.map((q) => [q.kind, q.epoch]),
        [
          ["welcome", 0],
          ["commit", 1],
          ["commit", 2],
        ],
      );
      assert.ok(
        queued[0] && queued[1] && queued[2] && queued[0].seq < queued[1].seq && queued[1].seq < queued[2].seq,
      );
      let bobState = await joinFromWelcome(bytes(queued[0]?.payload ?? ""), bob.bundles, bob.identity);
      for (const q of queued.slice(1)) bobState = (await processMessage(bobState, bytes(q.payload))).state;
      assert.equal(groupEpoch(bobState), groupEpoch(aliceState));

      // Acknowledged entries are gone; unacknowledged ones come again.
      back.send({ type: "mls.ack", upTo: queued[1]?.seq ?? 0 });
      await back.settle();
      back.close();
      await back.closed;
      const again = await connectDevice(restarted, bob.token, bob.deviceId);
      const redelivered = await again.next("mls.handshake");
      assert.equal(redelivered.seq, queued[2]?.seq);
      assert.ok(!(await again.settle()).some((f) => f.type === "mls.handshake"));
      again.close();
    } finally {
      await persistent.stop();
      await restarted?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
