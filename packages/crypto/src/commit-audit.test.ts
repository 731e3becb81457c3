import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type GroupInfo, ratchetTreeFromExtension, signGroupInfo } from "ts-mls/groupInfo.js";
import { decodeMlsMessage, encodeMlsMessage } from "ts-mls/message.js";
import { encodeRatchetTree } from "ts-mls/ratchetTree.js";
import { treeHashRoot } from "ts-mls/treeHash.js";
import { type AuditedPart, auditCommit, CommitAuditError } from "./commit-audit.js";
import type { CryptoErrorCode } from "./errors.js";
import { type DeviceIdentity, generateDeviceIdentity } from "./identity.js";
import {
  addMembers,
  createGroup,
  exportGroupInfo,
  type GroupState,
  generateKeyPackages,
  groupMembers,
  joinByExternalCommit,
  mergePendingCommit,
  type PendingCommit,
  removeMembers,
  selfUpdate,
} from "./mls.js";
import { parleyCiphersuite } from "./provider.js";

const cs = parleyCiphersuite();

async function fails(p: Promise<unknown>, code: CryptoErrorCode, part: AuditedPart): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CommitAuditError, `expected a CommitAuditError, got ${String(e)}`);
    assert.deepEqual([e.code, e.part], [code, part]);
    return true;
  });
}

const who = (d: { device: { userId: string; deviceId: string } }) =>
  `${d.device.userId}/${d.device.deviceId}`;

interface Made {
  before: Uint8Array | undefined;
  pending: PendingCommit;
  after: Uint8Array;
}

/** A Commit as a client sends it: with the GroupInfo of the state it leads to. */
async function made(state: GroupState | undefined, pending: PendingCommit): Promise<Made> {
  return {
    before: state === undefined ? undefined : await exportGroupInfo(state),
    pending,
    after: await exportGroupInfo(pending.newState),
  };
}

async function device(userId: string, deviceId: string) {
  const id = await generateDeviceIdentity({ userId, deviceId });
  const [kp] = await generateKeyPackages(id, 1);
  return { id, kp: kp!.keyPackage };
}

/** Alice's group with Bob and Carol, from its first Commit. */
async function team(): Promise<{ a: DeviceIdentity; first: Made; alice: GroupState }> {
  const a = await generateDeviceIdentity({ userId: "alice", deviceId: "laptop" });
  const b = await device("bob", "phone");
  const c = await device("carol", "desk");
  const pending = await addMembers(await createGroup(a), [b.kp, c.kp]);
  const first = await made(undefined, pending);
  return { a, first, alice: mergePendingCommit(pending) };
}

/** The GroupInfo with its ratchet tree changed by `edit`, re-hashed and re-signed by `signer`. */
async function forged(
  groupInfo: Uint8Array,
  signer: DeviceIdentity,
  edit: (tree: NonNullable<ReturnType<typeof ratchetTreeFromExtension>>) => void,
  transcript?: Uint8Array,
) {
  const m = decodeMlsMessage(groupInfo, 0)![0];
  assert.equal(m.wireformat, "mls_group_info");
  const info = (m as { groupInfo: GroupInfo }).groupInfo;
  const tree = ratchetTreeFromExtension(info)!;
  edit(tree);
  const extensions = info.extensions.map((e) =>
    e.extensionType === "ratchet_tree" ? { ...e, extensionData: encodeRatchetTree(tree) } : e,
  );
  const groupContext = {
    ...info.groupContext,
    treeHash: await treeHashRoot(tree, cs.hash),
    confirmedTranscriptHash: transcript ?? info.groupContext.confirmedTranscriptHash,
  };
  const signed = await signGroupInfo(
    { groupContext, extensions, confirmationTag: info.confirmationTag, signer: info.signer },
    signer.signaturePrivateKey,
    cs.signature,
  );
  return encodeMlsMessage({ version: "mls10", wireformat: "mls_group_info", groupInfo: signed });
}

describe("the delivery service's audit of a Commit", () => {
  test("a group's first Commit: the creator commits, the Adds are the new members", async () => {
    const { first } = await team();
    const audit = await auditCommit(undefined, first.pending.commit, first.after);
    assert.equal(audit.epoch, 0n);
    assert.equal(audit.external, false);
    assert.equal(who(audit.committer), "alice/laptop");
    assert.deepEqual(audit.added.map(who), ["bob/phone", "carol/desk"]);
    assert.deepEqual(audit.removed, []);
  });

  test("removals, self-updates and additions later on are read from the Commit itself", async () => {
    const { alice } = await team();
    const removal = await made(alice, await removeMembers(alice, [2]));
    const audit = await auditCommit(removal.before, removal.pending.commit, removal.after);
    assert.equal(audit.epoch, 1n);
    assert.deepEqual(audit.removed.map(who), ["carol/desk"]);
    assert.deepEqual(audit.added, []);

    const after = mergePendingCommit(removal.pending);
    const update = await made(after, await selfUpdate(after));
    const quiet = await auditCommit(update.before, update.pending.commit, update.after);
    assert.deepEqual(
      [quiet.added.length, quiet.removed.length, who(quiet.committer)],
      [0, 0, "alice/laptop"],
    );

    const dave = await device("dave", "tablet");
    const updated = mergePendingCommit(update.pending);
    const add = await made(updated, await addMembers(updated, [dave.kp]));
    const adding = await auditCommit(add.before, add.pending.commit, add.after);
    assert.deepEqual(adding.added.map(who), ["dave/tablet"]);
  });

  test("an external Commit is made by the joiner; a rejoin replaces the device's own leaf", async () => {
    const { a, alice } = await team();
    const phone = await generateDeviceIdentity({ userId: "alice", deviceId: "phone" });
    const before = await exportGroupInfo(alice);
    const join = await joinByExternalCommit(before, phone);
    const audit = await auditCommit(before, join.commit, await exportGroupInfo(join.state));
    assert.equal(audit.external, true);
    assert.equal(who(audit.committer), "alice/phone");
    assert.deepEqual(audit.added.map(who), ["alice/phone"]);
    assert.deepEqual(audit.removed, []);

    const rejoin = await joinByExternalCommit(before, a);
    const again = await auditCommit(before, rejoin.commit, await exportGroupInfo(rejoin.state));
    assert.deepEqual([again.added.map(who), again.removed.map(who)], [["alice/laptop"], ["alice/laptop"]]);
  });

  test("a Commit or GroupInfo that does not fit the group's last GroupInfo is refused", async () => {
    const { alice, first } = await team();
    const removal = await made(alice, await removeMembers(alice, [1]));
    // The Commit of another epoch, and a GroupInfo that is not the one this Commit leads to.
    await fails(auditCommit(removal.before, first.pending.commit, removal.after), "wrong_group", "groupInfo");
    const other = await made(alice, await removeMembers(alice, [2]));
    await fails(
      auditCommit(removal.before, removal.pending.commit, other.after),
      "invalid_message",
      "groupInfo",
    );
    // A GroupInfo sent in place of the Commit, and bytes that are no MLS message at all.
    await fails(auditCommit(removal.before, removal.after, removal.after), "malformed_message", "commit");
    await fails(
      auditCommit(removal.before, new Uint8Array([1, 2, 3]), removal.after),
      "malformed_message",
      "commit",
    );
    await fails(
      auditCommit(removal.before, removal.pending.commit, new Uint8Array(8)),
      "malformed_message",
      "groupInfo",
    );
  });

  test("a Commit whose signature does not verify is refused", async () => {
    const { alice } = await team();
    const update = await made(alice, await selfUpdate(alice));
    const m = decodeMlsMessage(update.pending.commit, 0)![0];
    assert.equal(m.wireformat, "mls_public_message");
    const pm = (m as Extract<typeof m, { wireformat: "mls_public_message" }>).publicMessage;
    const signature = pm.auth.signature.slice();
    signature[0]! ^= 1;
    const tampered = encodeMlsMessage({
      ...m,
      publicMessage: { ...pm, auth: { ...pm.auth, signature } },
    } as typeof m);
    await fails(auditCommit(update.before, tampered, update.after), "authentication_failed", "commit");
  });

  test("a committer whose GroupInfo lists other members than the Commit makes is caught", async () => {
    const { a, alice } = await team();
    const update = await made(alice, await selfUpdate(alice));
    // Alice re-signs a GroupInfo whose tree quietly drops Carol (leaf 2, node 4).
    const dropped = await forged(update.after, a, (tree) => {
      tree[4] = undefined;
    });
    await fails(auditCommit(update.before, update.pending.commit, dropped), "invalid_message", "groupInfo");
    // The same tree signed by someone else than the committer.
    const mallory = await generateDeviceIdentity({ userId: "mallory", deviceId: "x" });
    const unsigned = await forged(update.after, mallory, () => {});
    await fails(
      auditCommit(update.before, update.pending.commit, unsigned),
      "authentication_failed",
      "groupInfo",
    );
    // A GroupInfo that does not follow from this Commit in the transcript (RFC 9420 §8.2).
    const elsewhere = await forged(update.after, a, () => {}, new Uint8Array(32).fill(7));
    await fails(auditCommit(update.before, update.pending.commit, elsewhere), "invalid_message", "groupInfo");
    // Untouched, it passes: the forger's helper changes nothing by itself.
    const same = await forged(update.after, a, () => {});
    assert.equal((await auditCommit(update.before, update.pending.commit, same)).removed.length, 0);
    assert.equal(groupMembers(alice).length, 3);
  });

  test("bytes mutated at random are refused with a CommitAuditError, never another error", async () => {
    const { alice } = await team();
    const update = await made(alice, await selfUpdate(alice));
    const inputs = [update.before!, update.pending.commit, update.after];
    // A fixed seed, so a failure here is the same failure on every run (mulberry32).
    let seed = 0x5eed;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const others: string[] = [];
    for (let i = 0; i < 600; i++) {
      const copy = inputs.map((x) => new Uint8Array(x));
      const target = i % 3;
      const bytes = copy[target]!;
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++)
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      if (random() < 0.2) copy[target] = bytes.slice(0, Math.floor(random() * bytes.length));
      try {
        await auditCommit(copy[0], copy[1]!, copy[2]!);
      } catch (e) {
        if (!(e instanceof CommitAuditError)) others.push(`${(e as Error).name}: ${(e as Error).message}`);
      }
    }
    assert.deepEqual(others, []);
  });
});
