import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { makePskIndex } from "ts-mls/clientState.js";
import { decodeMlsMessage, encodeMlsMessage } from "ts-mls/message.js";
import { processPrivateMessage, processPublicMessage } from "ts-mls/processMessages.js";
import { type CryptoErrorCode, isParleyCryptoError } from "./errors.js";
import { type DeviceIdentity, generateDeviceIdentity } from "./identity.js";
import {
  addMembers,
  createGroup,
  createMlsConfig,
  decodeKeyPackageBundle,
  encodeKeyPackageBundle,
  encryptApplicationMessage,
  exportGroupInfo,
  exportGroupState,
  type GroupState,
  generateKeyPackages,
  generateLastResortKeyPackage,
  groupEpoch,
  groupMembers,
  type IncomingResult,
  importGroupState,
  inspectKeyPackage,
  inspectMessage,
  isActiveMember,
  joinByExternalCommit,
  joinFromWelcome,
  mergePendingCommit,
  ownLeafDevice,
  ownLeafIndex,
  processMessage,
  removeMembers,
  selfUpdate,
  welcomeKeyPackageRefs,
} from "./mls.js";
import { parleyCiphersuite } from "./provider.js";

const text = (s: string) => utf8ToBytes(s);
const cs = parleyCiphersuite();

async function rejects(p: Promise<unknown>, code: CryptoErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isParleyCryptoError(e), `expected a ParleyCryptoError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

function expectKind<K extends IncomingResult["kind"]>(
  r: IncomingResult,
  kind: K,
): Extract<IncomingResult, { kind: K }> {
  assert.equal(r.kind, kind);
  return r as Extract<IncomingResult, { kind: K }>;
}

async function send(state: GroupState, body: string) {
  return encryptApplicationMessage(state, text(body));
}

async function read(state: GroupState, message: Uint8Array) {
  return expectKind(await processMessage(state, message), "application");
}

interface Trio {
  ids: { a: DeviceIdentity; b: DeviceIdentity; c: DeviceIdentity };
  alice: GroupState;
  bob: GroupState;
  carol: GroupState;
}

async function trio(config = createMlsConfig()): Promise<Trio> {
  const a = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
  const b = await generateDeviceIdentity({ userId: "bob", deviceId: "phone" });
  const c = await generateDeviceIdentity({ userId: "carol", deviceId: "desk" });
  const alice0 = await createGroup(a, { config });
  const [kpB] = await generateKeyPackages(b, 1);
  const [kpC] = await generateKeyPackages(c, 1);
  const pending = await addMembers(alice0, [kpB!.keyPackage, kpC!.keyPackage]);
  assert.ok(pending.welcome !== undefined);
  const alice = mergePendingCommit(pending);
  const bob = await joinFromWelcome(pending.welcome, [kpB!], b, config);
  const carol = await joinFromWelcome(pending.welcome, [kpC!], c, config);
  return { ids: { a, b, c }, alice, bob, carol };
}

describe("a group of three", () => {
  test("members exchange messages and agree on the epoch and the sender", async () => {
    let { alice, bob, carol } = await trio();
    assert.equal(groupEpoch(alice), 1n);
    assert.equal(groupEpoch(bob), 1n);
    assert.equal(groupEpoch(carol), 1n);
    assert.deepEqual(
      groupMembers(alice).map((m) => m.device.userId),
      ["alice", "bob", "carol"],
    );

    const fromAlice = await send(alice, "hello from alice");
    alice = fromAlice.state;
    const atBob = await read(bob, fromAlice.message);
    bob = atBob.state;
    const atCarol = await read(carol, fromAlice.message);
    carol = atCarol.state;
    assert.equal(new TextDecoder().decode(atBob.plaintext), "hello from alice");
    assert.equal(new TextDecoder().decode(atCarol.plaintext), "hello from alice");
    assert.deepEqual(atBob.sender.device, { userId: "alice", deviceId: "laptop" });

    const fromBob = await send(bob, "hi, bob here");
    const atAlice = await read(alice, fromBob.message);
    assert.equal(new TextDecoder().decode(atAlice.plaintext), "hi, bob here");
    assert.equal(atAlice.sender.device.userId, "bob");
    assert.equal((await read(carol, fromBob.message)).sender.leafIndex, ownLeafIndex(bob));
  });

  test("a removed member cannot decrypt anything of the next epoch", async () => {
    let { alice, bob, carol } = await trio();
    const carolBefore = carol;
    const carolLeaf = ownLeafIndex(carol);
    const pending = await removeMembers(alice, [carolLeaf]);
    alice = mergePendingCommit(pending);

    const atBob = expectKind(await processMessage(bob, pending.commit), "commit");
    bob = atBob.state;
    assert.deepEqual(
      atBob.removed.map((m) => m.device.userId),
      ["carol"],
    );
    const atCarol = expectKind(await processMessage(carol, pending.commit), "commit");
    assert.equal(atCarol.removedSelf, true);
    carol = atCarol.state;
    assert.equal(isActiveMember(carol), false);

    const secret = await send(alice, "carol must not read this");
    assert.equal(
      new TextDecoder().decode((await read(bob, secret.message)).plaintext),
      "carol must not read this",
    );
    await rejects(processMessage(carol, secret.message), "epoch_unavailable");
    await rejects(processMessage(carolBefore, secret.message), "epoch_unavailable");

    // Below the API's epoch check, ts-mls with carol's keys fails authentication as well.
    const pm = decodeMlsMessage(secret.message, 0)?.[0];
    assert.ok(pm?.wireformat === "mls_private_message");
    for (const s of [carol, carolBefore]) {
      await assert.rejects(processPrivateMessage(s, pm.privateMessage, makePskIndex(s, {}), cs));
    }
  });

  test("ownLeafDevice names the device of each member's own leaf, and none once that leaf was removed", async () => {
    const { alice, bob, carol } = await trio();
    assert.deepEqual(ownLeafDevice(alice), { userId: "alice", deviceId: "laptop" });
    assert.deepEqual(ownLeafDevice(bob), { userId: "bob", deviceId: "phone" });
    assert.deepEqual(ownLeafDevice(carol), { userId: "carol", deviceId: "desk" });
    for (const s of [alice, bob, carol]) {
      const own = groupMembers(s).find((m) => m.leafIndex === ownLeafIndex(s));
      assert.deepEqual(ownLeafDevice(s), own?.device, "the same as reading every member");
    }
    const pending = await removeMembers(alice, [ownLeafIndex(carol)]);
    const atCarol = expectKind(await processMessage(carol, pending.commit), "commit");
    assert.equal(atCarol.removedSelf, true);
    assert.equal(ownLeafDevice(atCarol.state), undefined);
  });

  test("a self-update heals: a copy of the old state cannot read the new epoch", async () => {
    let { alice, bob, carol } = await trio();
    const stolen = exportGroupState(bob);

    const update = await selfUpdate(bob);
    assert.equal(update.welcome, undefined);
    bob = mergePendingCommit(update);
    alice = expectKind(await processMessage(alice, update.commit), "commit").state;
    carol = expectKind(await processMessage(carol, update.commit), "commit").state;
    assert.equal(groupEpoch(alice), groupEpoch(bob));

    const after = await send(alice, "after the update");
    assert.equal(new TextDecoder().decode((await read(bob, after.message)).plaintext), "after the update");
    assert.equal(new TextDecoder().decode((await read(carol, after.message)).plaintext), "after the update");

    const thief = importGroupState(stolen);
    await rejects(processMessage(thief, after.message), "epoch_unavailable");
    await rejects(processMessage(thief, update.commit), "own_commit");
    // Without the API's guards: the old keys cannot follow the commit nor open the message.
    const commitMsg = decodeMlsMessage(update.commit, 0)?.[0];
    assert.ok(commitMsg?.wireformat === "mls_public_message");
    await assert.rejects(processPublicMessage(thief, commitMsg.publicMessage, makePskIndex(thief, {}), cs));
    const appMsg = decodeMlsMessage(after.message, 0)?.[0];
    assert.ok(appMsg?.wireformat === "mls_private_message");
    await assert.rejects(processPrivateMessage(thief, appMsg.privateMessage, makePskIndex(thief, {}), cs));
  });

  test("rejects a replayed ciphertext with message_replayed", async () => {
    const { alice, bob } = await trio();
    const m = await send(alice, "once");
    const first = await read(bob, m.message);
    await rejects(processMessage(first.state, m.message), "message_replayed");
  });

  test("rejects tampered ciphertexts with authentication_failed and keeps the state usable", async () => {
    const { alice, bob } = await trio();
    const m = await send(alice, "do not touch");
    for (const at of [m.message.length - 1, m.message.length - 40, Math.floor(m.message.length / 2)]) {
      const tampered = m.message.slice();
      tampered[at] = tampered[at]! ^ 0x01;
      await rejects(processMessage(bob, tampered), "authentication_failed");
    }
    assert.equal(new TextDecoder().decode((await read(bob, m.message)).plaintext), "do not touch");
  });

  test("state round-trips through bytes", async () => {
    const { alice, bob } = await trio();
    const bytes = exportGroupState(alice);
    const restored = importGroupState(bytes);
    assert.deepEqual(exportGroupState(restored), bytes);
    assert.equal(groupEpoch(restored), groupEpoch(alice));
    const m = await send(restored, "from a restored state");
    assert.equal(new TextDecoder().decode((await read(bob, m.message)).plaintext), "from a restored state");

    await rejects(
      Promise.resolve().then(() => importGroupState(bytes.subarray(0, bytes.length - 1))),
      "invalid_state",
    );
    await rejects(
      Promise.resolve().then(() => importGroupState(Uint8Array.of(1, 2, 3))),
      "invalid_state",
    );
  });
});

describe("ordering and retention", () => {
  test("reads messages out of order inside the window", async () => {
    let { alice, bob } = await trio();
    const sent: Uint8Array[] = [];
    for (const body of ["one", "two", "three"]) {
      const r = await send(alice, body);
      alice = r.state;
      sent.push(r.message);
    }
    const got: string[] = [];
    for (const i of [2, 0, 1]) {
      const r = await read(bob, sent[i]!);
      bob = r.state;
      got.push(new TextDecoder().decode(r.plaintext));
    }
    assert.deepEqual(got, ["three", "one", "two"]);
  });

  test("refuses a jump past the forward-ratchet bound", async () => {
    let { alice, bob } = await trio(createMlsConfig({ maxForwardSteps: 3 }));
    let last: Uint8Array | undefined;
    for (let i = 0; i < 5; i++) {
      const r = await send(alice, `m${i}`);
      alice = r.state;
      last = r.message;
    }
    assert.ok(last !== undefined);
    await rejects(processMessage(bob, last), "message_too_far_ahead");
  });

  test("reads a late message from a retained epoch, not from a dropped one", async () => {
    let { alice, bob } = await trio(createMlsConfig({ retainEpochs: 2 }));
    const late = await send(alice, "sent before the commits");
    alice = late.state;
    for (let i = 0; i < 3; i++) {
      const p = await selfUpdate(alice);
      alice = mergePendingCommit(p);
      const r = expectKind(await processMessage(bob, p.commit), "commit");
      if (i === 0) {
        const old = await read(r.state, late.message);
        assert.equal(old.epoch, 1n);
        assert.equal(new TextDecoder().decode(old.plaintext), "sent before the commits");
      }
      bob = r.state;
    }
    assert.equal(groupEpoch(bob), 4n);
    await rejects(processMessage(bob, late.message), "epoch_unavailable");
  });

  test("a late message from a retained epoch is read once, names its sender, and leaves the new epoch readable", async () => {
    let { alice, bob, ids } = await trio();
    const late = await send(alice, "late");
    alice = late.state;
    const p = await selfUpdate(alice);
    alice = mergePendingCommit(p);
    bob = expectKind(await processMessage(bob, p.commit), "commit").state;
    const old = await read(bob, late.message);
    assert.equal(old.epoch, 1n);
    assert.deepEqual(old.sender.device, { userId: ids.a.userId, deviceId: ids.a.deviceId });
    bob = old.state;
    // Its key was deleted from the retained epoch (RFC 9420 §9.2), so a replay is refused.
    await rejects(processMessage(bob, late.message), "message_replayed");
    const now = await send(alice, "current");
    assert.equal(new TextDecoder().decode((await read(bob, now.message)).plaintext), "current");
  });
});

describe("handshakes", () => {
  test("a device's own commit, echoed back, is reported as own_commit", async () => {
    const { alice } = await trio();
    const p = await selfUpdate(alice);
    await rejects(processMessage(alice, p.commit), "own_commit");
    assert.equal(groupEpoch(mergePendingCommit(p)), 2n);
  });

  test("a losing commit leaves the old state intact to process the winner", async () => {
    let { alice, bob, carol } = await trio();
    const mine = await selfUpdate(alice);
    const theirs = await selfUpdate(bob);
    bob = mergePendingCommit(theirs); // the delivery service took bob's
    alice = expectKind(await processMessage(alice, theirs.commit), "commit").state; // alice drops hers
    carol = expectKind(await processMessage(carol, theirs.commit), "commit").state;
    assert.equal(mine.epoch, theirs.epoch);
    const m = await send(alice, "converged");
    assert.equal(new TextDecoder().decode((await read(bob, m.message)).plaintext), "converged");
    assert.equal(new TextDecoder().decode((await read(carol, m.message)).plaintext), "converged");
  });

  test("merging after using the old epoch keeps that epoch's late messages readable", async () => {
    let { alice, bob } = await trio();
    const pending = await selfUpdate(alice);
    const m1 = await send(bob, "while alice waits");
    bob = m1.state;
    const m2 = await send(bob, "late, same epoch");
    bob = m2.state;
    alice = (await read(alice, m1.message)).state; // alice keeps reading epoch 1
    alice = mergePendingCommit(pending, alice); // then the delivery service accepts her commit
    assert.equal(groupEpoch(alice), 2n);
    const late = await read(alice, m2.message);
    assert.equal(late.epoch, 1n);
    assert.equal(new TextDecoder().decode(late.plaintext), "late, same epoch");
    assert.throws(() => mergePendingCommit(pending), TypeError);
  });

  test("handshake messages travel as PublicMessage, application data as PrivateMessage", async () => {
    const { alice } = await trio();
    const p = await selfUpdate(alice);
    const info = inspectMessage(p.commit);
    assert.equal(info.wireformat, "public_message");
    assert.ok(info.wireformat === "public_message" && info.contentType === "commit" && info.epoch === 1n);
    const m = await send(alice, "x");
    assert.equal(inspectMessage(m.message).wireformat, "private_message");
  });

  test("messages for another group are rejected with wrong_group", async () => {
    const one = await trio();
    const two = await trio();
    const m = await send(one.alice, "elsewhere");
    await rejects(processMessage(two.bob, m.message), "wrong_group");
  });

  test("garbage is malformed_message", async () => {
    const { bob } = await trio();
    await rejects(processMessage(bob, Uint8Array.of(0, 1, 2, 3)), "malformed_message");
    await rejects(processMessage(bob, new Uint8Array(0)), "malformed_message");
  });

  test("a new device joins by external commit; a device that lost its state rejoins", async () => {
    let { ids, alice, bob } = await trio();
    const d = await generateDeviceIdentity({ userId: "alice", deviceId: "phone" });
    const join = await joinByExternalCommit(await exportGroupInfo(alice), d);
    alice = expectKind(await processMessage(alice, join.commit), "commit").state;
    bob = expectKind(await processMessage(bob, join.commit), "commit").state;
    let phone = join.state;
    assert.equal(groupMembers(alice).length, 4);
    const hi = await send(bob, "hello new phone");
    phone = (await read(phone, hi.message)).state;

    // Carol's device lost its state; she rejoins with the same identity and her old leaf goes.
    const rejoin = await joinByExternalCommit(await exportGroupInfo(alice), ids.c);
    const r = expectKind(await processMessage(alice, rejoin.commit), "commit");
    alice = r.state;
    // Same device, same key, same leaf: to the group this is no membership change.
    assert.deepEqual([r.added.length, r.removed.length, r.committer], [0, 0, undefined]);
    assert.equal(groupMembers(alice).filter((m) => m.device.userId === "carol").length, 1);
    const m = await send(alice, "welcome back");
    assert.equal(new TextDecoder().decode((await read(rejoin.state, m.message)).plaintext), "welcome back");
    assert.ok(phone);
  });
});

describe("key packages", () => {
  test("a batch is single-use packages with distinct refs; the last resort is marked", async () => {
    const id = await generateDeviceIdentity({ userId: "dave", deviceId: "cli" });
    const batch = await generateKeyPackages(id, 3);
    const refs = new Set(batch.map((b) => Buffer.from(b.ref).toString("hex")));
    assert.equal(refs.size, 3);
    assert.ok(batch.every((b) => !b.lastResort));
    const last = await generateLastResortKeyPackage(id);
    assert.equal(last.lastResort, true);

    const info = await inspectKeyPackage(last.keyPackage);
    assert.deepEqual(info.device, { userId: "dave", deviceId: "cli" });
    assert.equal(info.lastResort, true);
    assert.deepEqual(info.signaturePublicKey, id.signaturePublicKey);
    assert.deepEqual(info.ref, last.ref);
    assert.ok(info.notAfter > info.notBefore);
    assert.equal((await inspectKeyPackage(batch[0]!.keyPackage)).lastResort, false);
  });

  test("inspectKeyPackage rejects a package whose bytes were altered", async () => {
    const id = await generateDeviceIdentity({ userId: "dave", deviceId: "cli" });
    const [kp] = await generateKeyPackages(id, 1);
    const bytes = kp!.keyPackage.slice();
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1; // inside the signature
    await rejects(inspectKeyPackage(bytes), "key_package_unusable");
    await rejects(inspectKeyPackage(Uint8Array.of(0, 1)), "key_package_unusable");
  });

  test("bundles round-trip through bytes and still open their Welcome", async () => {
    const a = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
    const e = await generateDeviceIdentity({ userId: "erin", deviceId: "tablet" });
    const [kp] = await generateKeyPackages(e, 1);
    const restored = await decodeKeyPackageBundle(encodeKeyPackageBundle(kp!));
    assert.deepEqual(restored.ref, kp!.ref);
    const p = await addMembers(await createGroup(a), [kp!.keyPackage]);
    assert.ok(p.welcome !== undefined);
    assert.deepEqual(welcomeKeyPackageRefs(p.welcome), [kp!.ref]);
    const joined = await joinFromWelcome(p.welcome, [restored], e);
    assert.equal(groupEpoch(joined), 1n);
    assert.ok(
      restored.initPrivateKey.every((x) => x === 0),
      "single-use init key is wiped after the join",
    );
    await rejects(decodeKeyPackageBundle(Uint8Array.of(9, 9)), "invalid_state");
  });

  test("the last-resort package can be used twice; its init key is kept", async () => {
    const a = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
    const e = await generateDeviceIdentity({ userId: "erin", deviceId: "tablet" });
    const last = await generateLastResortKeyPackage(e);
    for (let i = 0; i < 2; i++) {
      const p = await addMembers(await createGroup(a), [last.keyPackage]);
      assert.ok(p.welcome !== undefined);
      assert.equal(groupEpoch(await joinFromWelcome(p.welcome, [last], e)), 1n);
    }
  });

  test("a Welcome for someone else's package is no_matching_key_package", async () => {
    const a = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
    const e = await generateDeviceIdentity({ userId: "erin", deviceId: "tablet" });
    const [kp1, kp2] = await generateKeyPackages(e, 2);
    const p = await addMembers(await createGroup(a), [kp1!.keyPackage]);
    assert.ok(p.welcome !== undefined);
    await rejects(joinFromWelcome(p.welcome, [kp2!], e), "no_matching_key_package");
  });

  test("the Authentication Service hook can refuse a device", async () => {
    const a = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
    const m = await generateDeviceIdentity({ userId: "mallory", deviceId: "x" });
    const config = createMlsConfig({ verifyDevice: (device) => device.userId !== "mallory" });
    const [kp] = await generateKeyPackages(m, 1);
    await rejects(addMembers(await createGroup(a, { config }), [kp!.keyPackage]), "credential_rejected");
  });
});

describe("configuration", () => {
  test("refuses retainEpochs 0, which ts-mls 1.6.4 would read as 'keep every epoch'", () => {
    assert.throws(() => createMlsConfig({ retainEpochs: 0 }), RangeError);
    assert.throws(() => createMlsConfig({ maxSkippedKeys: -1 }), RangeError);
    assert.throws(() => createMlsConfig({ maxForwardSteps: 1.5 }), RangeError);
  });

  test("defaults keep two past epochs and a bounded skipped-key window", () => {
    const c = createMlsConfig();
    assert.equal(c.keyRetentionConfig.retainKeysForEpochs, 2);
    assert.equal(c.keyRetentionConfig.retainKeysForGenerations, 64);
    assert.equal(c.keyRetentionConfig.maximumForwardRatchetSteps, 1000);
  });

  test("encodeMlsMessage and our encoding agree (sanity of the wire bytes)", async () => {
    const { alice } = await trio();
    const m = await send(alice, "wire");
    const decoded = decodeMlsMessage(m.message, 0)?.[0];
    assert.ok(decoded !== undefined);
    assert.deepEqual(encodeMlsMessage(decoded), m.message);
  });
});
