/**
 * What the delivery service can check of a Commit without holding any group secret (RFC 9420
 * §6.2, §8.2, §12.4.3), so that the membership it records is the membership the Commit makes,
 * not what the committing client declares:
 *
 * - the Commit is a PublicMessage of the group, for the epoch of the group's last GroupInfo,
 *   and its signature verifies against the committer's leaf in that GroupInfo's tree (or, for
 *   an external Commit, against the joiner's leaf in its UpdatePath);
 * - the new GroupInfo the committer uploads is for the next epoch, its ratchet tree hashes to
 *   the tree hash it states, it is signed by the committer's leaf, it carries the Commit's
 *   confirmation tag, and its confirmed transcript hash follows from the previous GroupInfo and
 *   exactly this Commit (§8.2), so it cannot be swapped for another epoch's;
 * - the Commit's proposals are all by value (Parley never relays standalone proposals) and the
 *   new tree's members are exactly the old ones, minus the Removes, plus the Adds (plus the
 *   joiner of an external Commit).
 *
 * A group's first Commit (epoch 0 to 1) has no GroupInfo before it on the server; then the
 * Commit's own signature cannot be checked (the epoch-0 context is the creator's alone), and
 * the new GroupInfo's signature by the same leaf stands in for it.
 *
 * The members' clients still verify everything (membership tag, path secrets, tree) when they
 * process the Commit; this is the server's part of keeping everyone honest.
 */

import { equalBytes } from "@noble/ciphers/utils.js";
import { type DeviceRef, deviceKey, type MlsSuite } from "@parley/protocol";
import type { Credential } from "ts-mls";
import { verifyFramedContentSignature } from "ts-mls/framedContent.js";
import { verifyGroupInfoSignature } from "ts-mls/groupInfo.js";
import type { Proposal } from "ts-mls/proposal.js";
import { findSignaturePublicKey } from "ts-mls/publicMessage.js";
import { createConfirmedHash, createInterimHash } from "ts-mls/transcriptHash.js";
import { treeHashRoot } from "ts-mls/treeHash.js";
import { type CryptoErrorCode, ParleyCryptoError } from "./errors.js";
import { certificateFromCredential, type DeviceCertificate, verifyDeviceCertificate } from "./identity.js";
import { decodeGroupInfo, type Member, membersOfTree } from "./mls.js";
import { decodeMessage, guarded } from "./mls-internal.js";
import { implFor, suiteOf } from "./suites.js";

/** A device in the group and the signature key its leaf holds. */
export interface AuditedDevice {
  readonly device: DeviceRef;
  readonly signaturePublicKey: Uint8Array;
  /** The identity key whose certificate the leaf carries. */
  readonly identityKey: Uint8Array;
}

export interface CommitAudit {
  /** The epoch the Commit was made in; the new GroupInfo is for the next one. */
  readonly epoch: bigint;
  /** The group's cipher suite: both GroupInfos and every added KeyPackage are of it. */
  readonly suite: MlsSuite;
  /** Who signed the Commit: a member, or the device joining by external Commit. */
  readonly committer: AuditedDevice;
  readonly external: boolean;
  /** Leaves the Commit adds: its Add proposals, and the joiner of an external Commit. */
  readonly added: readonly AuditedDevice[];
  /** Leaves the Commit removes: its Remove proposals. */
  readonly removed: readonly AuditedDevice[];
}

/** Which of the two inputs failed a check, for the caller's error details. */
export type AuditedPart = "commit" | "groupInfo";

export class CommitAuditError extends ParleyCryptoError {
  constructor(
    code: CryptoErrorCode,
    readonly part: AuditedPart,
    options?: { cause?: unknown },
  ) {
    super(code, options);
  }
}

function fail(code: CryptoErrorCode, part: AuditedPart): never {
  throw new CommitAuditError(code, part);
}

/**
 * Runs one step on input from the network. Its failures are the input's fault: ts-mls's codecs
 * can also throw TypeError or RangeError on crafted bytes (seen when fuzzing), which count as
 * malformed input, never as a server error.
 */
async function check<T>(part: AuditedPart, f: () => Promise<T>): Promise<T> {
  try {
    return await guarded(f);
  } catch (e) {
    if (e instanceof CommitAuditError) throw e;
    if (e instanceof ParleyCryptoError) throw new CommitAuditError(e.code, part, { cause: e });
    if (e instanceof TypeError || e instanceof RangeError)
      throw new CommitAuditError("malformed_message", part, { cause: e });
    throw e;
  }
}

const audited = (m: Member): AuditedDevice => ({
  device: m.device,
  signaturePublicKey: m.signaturePublicKey,
  identityKey: m.identityKey,
});

/**
 * A leaf the Commit brings in must carry a device certificate whose identity-key signature
 * covers the leaf's signature key (docs/SECURITY.md, "One identity per person"): a server
 * accepting an uncertified leaf would let anyone with a registered key pose as a person's device.
 */
function certifiedLeaf(leaf: { credential: Credential; signaturePublicKey: Uint8Array }): AuditedDevice {
  let certificate: DeviceCertificate;
  try {
    certificate = certificateFromCredential(leaf.credential);
  } catch (e) {
    throw new CommitAuditError("invalid_identity", "commit", { cause: e });
  }
  if (!verifyDeviceCertificate(certificate, leaf.signaturePublicKey)) fail("credential_rejected", "commit");
  return {
    device: { userId: certificate.userId, deviceId: certificate.deviceId },
    signaturePublicKey: leaf.signaturePublicKey,
    identityKey: certificate.identityKey,
  };
}
/** A device together with the signature key its leaf carries: a new key is a new leaf. */
const leafKey = (d: AuditedDevice) =>
  `${deviceKey(d.device)}\u0000${Array.from(d.signaturePublicKey).join(",")}`;

/**
 * Checks a Commit against the group's GroupInfo before it (undefined for the group's first
 * Commit) and the GroupInfo the committer made after it. Throws CommitAuditError, whose `part`
 * names the input at fault.
 */
export async function auditCommit(
  previousGroupInfo: Uint8Array | undefined,
  commit: Uint8Array,
  nextGroupInfo: Uint8Array,
): Promise<CommitAudit> {
  try {
    return await audit(previousGroupInfo, commit, nextGroupInfo);
  } catch (e) {
    // A shape no step expected (a field a crafted message lacks): still the input's fault.
    if (e instanceof TypeError || e instanceof RangeError)
      throw new CommitAuditError("malformed_message", "commit", { cause: e });
    throw e;
  }
}

async function audit(
  previousGroupInfo: Uint8Array | undefined,
  commit: Uint8Array,
  nextGroupInfo: Uint8Array,
): Promise<CommitAudit> {
  const message = await check("commit", async () => decodeMessage(commit));
  if (message.wireformat !== "mls_public_message") fail("malformed_message", "commit");
  const { content, auth } = message.publicMessage;
  if (content.contentType !== "commit" || auth.contentType !== "commit") fail("invalid_message", "commit");
  const { sender } = content;
  const external = sender.senderType === "new_member_commit";
  if (sender.senderType !== "member" && !external) fail("invalid_message", "commit");

  const next = await check("groupInfo", async () => decodeGroupInfo(nextGroupInfo));
  const nextContext = next.info.groupContext;
  if (!equalBytes(nextContext.groupId, content.groupId) || nextContext.epoch !== content.epoch + 1n)
    fail("wrong_group", "groupInfo");
  const suite = await check("groupInfo", async () => suiteOf(nextContext.cipherSuite));
  const cs = await implFor(nextContext.cipherSuite);
  const treeHash = await check("groupInfo", () => treeHashRoot(next.tree, cs.hash));
  if (!equalBytes(treeHash, nextContext.treeHash)) fail("invalid_message", "groupInfo");
  if (!equalBytes(auth.confirmationTag, next.info.confirmationTag)) fail("invalid_message", "groupInfo");
  const after = await check("groupInfo", async () => membersOfTree(next.tree));
  const signer = after.find((m) => m.leafIndex === next.info.signer) ?? fail("invalid_message", "groupInfo");
  const signedByThem = await check("groupInfo", () =>
    verifyGroupInfoSignature(next.info, signer.signaturePublicKey, cs.signature),
  );
  if (!signedByThem) fail("authentication_failed", "groupInfo");

  // Who made the Commit, and the group as it was.
  let before: Member[];
  let committer: AuditedDevice;
  if (previousGroupInfo !== undefined) {
    const previous = await check("groupInfo", async () => decodeGroupInfo(previousGroupInfo));
    const context = previous.info.groupContext;
    if (!equalBytes(context.groupId, content.groupId)) fail("wrong_group", "commit");
    // RFC 9420 §11: a group's cipher suite never changes.
    if (context.cipherSuite !== nextContext.cipherSuite) fail("suite_mismatch", "groupInfo");
    if (context.epoch !== content.epoch) fail("epoch_unavailable", "commit");
    const key = await check("commit", async () => findSignaturePublicKey(previous.tree, context, content));
    const signed = await check("commit", () =>
      verifyFramedContentSignature(key, "mls_public_message", content, auth, context, cs.signature),
    );
    if (!signed) fail("authentication_failed", "commit");
    // RFC 9420 §8.2: the new epoch's transcript is the old one extended by exactly this Commit.
    const confirmed = await check("groupInfo", async () => {
      const interim = await createInterimHash(
        context.confirmedTranscriptHash,
        previous.info.confirmationTag,
        cs.hash,
      );
      return createConfirmedHash(
        interim,
        { wireformat: "mls_public_message", content, signature: auth.signature },
        cs.hash,
      );
    });
    if (!equalBytes(confirmed, nextContext.confirmedTranscriptHash)) fail("invalid_message", "groupInfo");
    before = await check("groupInfo", async () => membersOfTree(previous.tree));
    if (sender.senderType === "member") {
      const member = before.find((m) => m.leafIndex === sender.leafIndex) ?? fail("not_in_group", "commit");
      committer = audited(member);
    } else {
      committer = joinerOf(content.commit.path?.leafNode);
    }
  } else {
    // The group's first Commit: its creator, alone at leaf 0, is the committer.
    if (content.epoch !== 0n || sender.senderType !== "member" || sender.leafIndex !== 0)
      fail("invalid_message", "commit");
    const creator = after.find((m) => m.leafIndex === 0) ?? fail("invalid_message", "groupInfo");
    before = [creator];
    committer = audited(creator);
  }
  if (!equalBytes(signer.signaturePublicKey, committer.signaturePublicKey))
    fail("invalid_message", "groupInfo");

  // The proposals, all by value, must account for every change between the two trees.
  const adds: AuditedDevice[] = [];
  const removedLeaves = new Set<number>();
  for (const p of content.commit.proposals) {
    if (p.proposalOrRefType !== "proposal") fail("invalid_message", "commit");
    const proposal: Proposal = p.proposal;
    if (proposal.proposalType === "add") {
      // RFC 9420 §12.1.1: an added KeyPackage is of the group's cipher suite.
      if (proposal.add.keyPackage.cipherSuite !== nextContext.cipherSuite) fail("suite_mismatch", "commit");
      adds.push(certifiedLeaf(proposal.add.keyPackage.leafNode));
    } else if (proposal.proposalType === "remove") {
      if (removedLeaves.has(proposal.remove.removed)) fail("invalid_message", "commit");
      removedLeaves.add(proposal.remove.removed);
    } else if (proposal.proposalType === "external_init") {
      if (!external) fail("invalid_message", "commit");
    } else {
      // Update, PSK, ReInit and extension changes are not part of Parley's protocol.
      fail("invalid_message", "commit");
    }
  }
  if (external && adds.length > 0) fail("invalid_message", "commit");
  const removed = before.filter((m) => removedLeaves.has(m.leafIndex)).map(audited);
  if (removed.length !== removedLeaves.size) fail("invalid_message", "commit");
  const added = external ? [committer] : adds;

  const expected = before.filter((m) => !removedLeaves.has(m.leafIndex)).map((m) => leafKey(audited(m)));
  expected.push(...added.map(leafKey));
  const actual = after.map((m) => leafKey(audited(m)));
  if (expected.sort().join("\n") !== actual.sort().join("\n")) fail("invalid_message", "groupInfo");
  return { epoch: content.epoch, suite, committer, external, added, removed };
}

function joinerOf(
  leaf: { credential: Credential; signaturePublicKey: Uint8Array } | undefined,
): AuditedDevice {
  if (leaf === undefined) fail("invalid_message", "commit");
  return certifiedLeaf(leaf);
}
