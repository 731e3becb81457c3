/**
 * MLS on the X-Wing suite (0x0054) through Parley's API, and what happens where two suites meet:
 * a group keeps its suite, a KeyPackage of another suite cannot be added, and the delivery
 * service's audit names the mismatch.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { signKeyPackage } from "ts-mls/keyPackage.js";
import { auditCommit, CommitAuditError } from "./commit-audit.js";
import { type CryptoErrorCode, isParleyCryptoError } from "./errors.js";
import { type DeviceIdentity, generateDeviceIdentity } from "./identity.js";
import { keyPackageOf } from "./key-package.js";
import {
  addMembers,
  createGroup,
  decodeKeyPackageBundle,
  encodeKeyPackageBundle,
  encryptApplicationMessage,
  exportGroupInfo,
  exportGroupState,
  generateKeyPackages,
  generateLastResortKeyPackage,
  groupSuite,
  importGroupState,
  inspectKeyPackage,
  inspectMessage,
  joinByExternalCommit,
  joinFromWelcome,
  mergePendingCommit,
  processMessage,
  removeMembers,
  selfUpdate,
} from "./mls.js";
import { encodeMessage } from "./mls-internal.js";
import { ciphersuiteImpl, suiteOf } from "./suites.js";

const text = (s: string) => utf8ToBytes(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function rejects(p: Promise<unknown>, code: CryptoErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isParleyCryptoError(e), `expected a ParleyCryptoError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

describe("a group on the X-Wing suite", () => {
  test("is created, adds a member, exchanges messages, updates, removes, and is joined externally", async () => {
    const a = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
    const b = await generateDeviceIdentity({ userId: "bob", deviceId: "phone" });
    const a2 = await generateDeviceIdentity({ userId: "alice", deviceId: "tablet" });
    let alice = await createGroup(a, { suite: "xwing" });
    assert.equal(groupSuite(alice), "xwing");

    const [kpB] = await generateKeyPackages(b, 1, { suite: "xwing" });
    const info = await inspectKeyPackage(kpB!.keyPackage);
    assert.equal(info.suite, "xwing");
    // The bundle survives the device store: its ref is recomputed with the suite's hash.
    const restored = await decodeKeyPackageBundle(encodeKeyPackageBundle(kpB!));
    assert.deepEqual(restored.ref, kpB!.ref);

    const add = await addMembers(alice, [kpB!.keyPackage]);
    const welcome = add.welcome!;
    const w = inspectMessage(welcome);
    assert.ok(w.wireformat === "welcome" && w.suite === "xwing");
    alice = mergePendingCommit(add);
    let bob = await joinFromWelcome(welcome, [restored], b);
    assert.equal(groupSuite(bob), "xwing");

    const m1 = await encryptApplicationMessage(alice, text("post-quantum hello"));
    alice = m1.state;
    const r1 = await processMessage(bob, m1.message);
    assert.ok(r1.kind === "application");
    bob = r1.state;
    assert.equal(str(r1.plaintext), "post-quantum hello");

    // Bob's update (a fresh X-Wing path) is followed by Alice.
    const upd = await selfUpdate(bob);
    bob = mergePendingCommit(upd);
    const r2 = await processMessage(alice, upd.commit);
    assert.ok(r2.kind === "commit");
    alice = r2.state;

    // The state survives export and import, suite included.
    alice = importGroupState(exportGroupState(alice));
    assert.equal(groupSuite(alice), "xwing");

    // Alice's second device joins by external Commit from the GroupInfo.
    const gi = await exportGroupInfo(alice);
    const g = inspectMessage(gi);
    assert.ok(g.wireformat === "group_info" && g.suite === "xwing");
    const ext = await joinByExternalCommit(gi, a2);
    let tablet = ext.state;
    assert.equal(groupSuite(tablet), "xwing");
    const r3 = await processMessage(alice, ext.commit);
    assert.ok(r3.kind === "commit");
    alice = r3.state;
    const r4 = await processMessage(bob, ext.commit);
    assert.ok(r4.kind === "commit");
    bob = r4.state;

    const m2 = await encryptApplicationMessage(tablet, text("from the tablet"));
    tablet = m2.state;
    const r5 = await processMessage(bob, m2.message);
    assert.ok(r5.kind === "application");
    assert.equal(str(r5.plaintext), "from the tablet");

    // Bob is removed; he can no longer follow.
    const bobLeaf = r5.state.privatePath.leafIndex;
    const rm = await removeMembers(alice, [bobLeaf]);
    alice = mergePendingCommit(rm);
    const r6 = await processMessage(r5.state, rm.commit);
    assert.ok(r6.kind === "commit" && r6.removedSelf);
    const m3 = await encryptApplicationMessage(alice, text("after bob left"));
    await assert.rejects(processMessage(r6.state, m3.message));
  });

  test("the last-resort KeyPackage is in the suite asked for", async () => {
    const b = await generateDeviceIdentity({ userId: "bob", deviceId: "phone" });
    const last = await generateLastResortKeyPackage(b, { suite: "xwing" });
    const info = await inspectKeyPackage(last.keyPackage);
    assert.equal(info.suite, "xwing");
    assert.equal(info.lastResort, true);
  });
});

describe("KeyPackages whose keys are not the suite's", () => {
  /** `kp` with its init_key replaced and signed again by its own device: only the key is wrong. */
  async function withInitKey(
    kp: Uint8Array,
    initKey: Uint8Array,
    device: DeviceIdentity,
  ): Promise<Uint8Array> {
    const decoded = keyPackageOf(kp, "key_package_unusable");
    const { signature: _old, ...tbs } = decoded;
    const cs = await ciphersuiteImpl(suiteOf(decoded.cipherSuite));
    const signed = await signKeyPackage({ ...tbs, initKey }, device.signaturePrivateKey, cs.signature);
    return encodeMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: signed });
  }

  for (const suite of ["xwing", "x25519"] as const) {
    test(`refuses a ${suite} KeyPackage whose init_key has the wrong length, though well signed`, async () => {
      const b = await generateDeviceIdentity({ userId: "bob", deviceId: "phone" });
      const [good] = await generateKeyPackages(b, 1, { suite });
      assert.ok(good);
      const { initKey } = keyPackageOf(good.keyPackage, "key_package_unusable");
      // The same package signed again with its own key passes: the re-signing is sound.
      assert.equal((await inspectKeyPackage(await withInitKey(good.keyPackage, initKey, b))).suite, suite);
      for (const bad of [initKey.slice(0, 31), new Uint8Array([...initKey, 0])]) {
        await rejects(inspectKeyPackage(await withInitKey(good.keyPackage, bad, b)), "key_package_unusable");
      }
    });
  }
});

describe("suites do not mix", () => {
  test("an X25519 group refuses an X-Wing KeyPackage, and the reverse, with suite_mismatch", async () => {
    const a = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
    const b = await generateDeviceIdentity({ userId: "bob", deviceId: "phone" });
    const classic = await createGroup(a);
    assert.equal(groupSuite(classic), "x25519");
    const [pq] = await generateKeyPackages(b, 1, { suite: "xwing" });
    await rejects(addMembers(classic, [pq!.keyPackage]), "suite_mismatch");
    const hybrid = await createGroup(a, { suite: "xwing" });
    const [kp3] = await generateKeyPackages(b, 1);
    await rejects(addMembers(hybrid, [kp3!.keyPackage]), "suite_mismatch");
  });

  test("the commit audit reports a GroupInfo of another suite than the group's as suite_mismatch", async () => {
    const a = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
    const b = await generateDeviceIdentity({ userId: "bob", deviceId: "phone" });
    // Two groups with the same id, one per suite: the second one's Commit after the first's GroupInfo.
    const groupId = text("room-mixed");
    const classic = await createGroup(a, { groupId });
    const hybrid = await createGroup(a, { groupId, suite: "xwing" });
    const [kp] = await generateKeyPackages(b, 1, { suite: "xwing" });
    const first = await addMembers(hybrid, [kp!.keyPackage]);
    const audit = await auditCommit(undefined, first.commit, await exportGroupInfo(first.newState));
    assert.equal(audit.suite, "xwing");
    await assert.rejects(
      auditCommit(await exportGroupInfo(classic), first.commit, await exportGroupInfo(first.newState)),
      (e: unknown) => e instanceof CommitAuditError && e.code === "suite_mismatch" && e.part === "groupInfo",
    );
  });
});
