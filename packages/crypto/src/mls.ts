/**
 * The Parley-facing MLS API (RFC 9420) over ts-mls, always with Parley's noble provider and
 * cipher suite 3. It exists so the client SDK and the server speak in bytes and small result
 * types, never in ts-mls internals, and so Parley's policies live in one place:
 *
 * - handshake messages (Commits, Proposals) go out as PublicMessage so the delivery service can
 *   validate them and track membership (RFC 9420 §6.2, DESIGN.md "delivery service" (5));
 *   application messages as PrivateMessage (§6.3);
 * - receiver keys of old epochs are kept for `retainEpochs` epochs (default 2) and skipped
 *   message keys are bounded (§9.2 deletion schedule, §16.6 forward secrecy);
 * - secrets ts-mls reports as consumed are wiped (fill(0)) once the new state is in hand;
 * - a Commit is only merged into the local state after the delivery service accepted it
 *   (§14: the first Commit for an epoch wins), so a lost race leaves the old state intact.
 *
 * States are immutable values: every operation returns a new state, and the caller persists it
 * (exportGroupState) before acting on the result. KeyPackages live in key-package.ts and are
 * re-exported here.
 */

import { equalBytes } from "@noble/ciphers/utils.js";
import { assertNever, DEFAULT_MLS_SUITE, type DeviceRef, type MlsSuite, mlsSuiteOf } from "@parley/protocol";
import {
  type AuthenticationService,
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  createApplicationMessage,
  createCommit,
  decodeGroupState,
  defaultKeyPackageEqualityConfig,
  defaultLifetimeConfig,
  type EpochReceiverData,
  encodeGroupState,
  type IncomingMessageCallback,
  createGroup as mlsCreateGroup,
  type Proposal,
} from "ts-mls";
import { joinGroup, makePskIndex } from "ts-mls/clientState.js";
import { createGroupInfoWithExternalPubAndRatchetTree, joinGroupExternal } from "ts-mls/createCommit.js";
import { type GroupInfo, ratchetTreeFromExtension } from "ts-mls/groupInfo.js";
import { unprotectPrivateMessage } from "ts-mls/messageProtection.js";
import { decryptSenderData, type PrivateMessage } from "ts-mls/privateMessage.js";
import { processPrivateMessage, processPublicMessage } from "ts-mls/processMessages.js";
import type { PublicMessage } from "ts-mls/publicMessage.js";
import type { RatchetTree } from "ts-mls/ratchetTree.js";
import { allSecretTreeValues } from "ts-mls/secretTree.js";
import { ParleyCryptoError } from "./errors.js";
import {
  certificateFromCredential,
  type DeviceCertificate,
  type DeviceIdentity,
  verifyDeviceCertificateAsync,
} from "./identity.js";
import { type KeyPackageBundle, keyPackageOf, makeKeyPackage } from "./key-package.js";
import { decodeMessage, encodeMessage, guarded, implOf, intInRange } from "./mls-internal.js";
import { ciphersuiteImpl, implFor, suiteOf } from "./suites.js";

export {
  decodeKeyPackageBundle,
  encodeKeyPackageBundle,
  generateKeyPackages,
  generateLastResortKeyPackage,
  inspectKeyPackage,
  type KeyPackageBundle,
  type KeyPackageInfo,
  type KeyPackageOptions,
  LAST_RESORT_EXTENSION_TYPE,
} from "./key-package.js";

// ---------------------------------------------------------------------------------------------
// Configuration

export interface MlsConfigOptions {
  /**
   * Past epochs whose receiver keys are kept, so messages sent just before a Commit can still
   * be read (RFC 9420 §14). Default 2; 1..16. ts-mls 1.6.4 treats 0 as "keep every epoch",
   * which would defeat forward secrecy, so 0 is refused.
   */
  retainEpochs?: number;
  /** Skipped message keys kept per sender ratchet (out-of-order window, §9.2). Default 64. */
  maxSkippedKeys?: number;
  /** Largest jump in one sender's generation that is ratcheted through. Default 1000. */
  maxForwardSteps?: number;
  /** PrivateMessage content is padded up to this many bytes, hiding short lengths (§6.3). Default 256. */
  padToLength?: number;
  /**
   * Authentication Service check (RFC 9420 §5.3.1) for every credential met: in KeyPackages,
   * Welcomes (every leaf of the tree and the GroupInfo signer), Commits (Adds, paths, external
   * joins). The credential must be a device certificate whose identity-key signature covers the
   * leaf's signature key, or it is refused before this runs; this then sees the verified
   * certificate and may refuse too (for example a revoked device). Default: accept.
   */
  verifyDevice?: (
    certificate: DeviceCertificate,
    signaturePublicKey: Uint8Array,
  ) => boolean | Promise<boolean>;
}

/** Defaults, in one place, as documented on MlsConfigOptions. */
export const MLS_DEFAULTS = Object.freeze({
  retainEpochs: 2,
  maxSkippedKeys: 64,
  maxForwardSteps: 1000,
  padToLength: 256,
});

/** The ts-mls ClientConfig for Parley. Pass the same config when importing a stored state. */
export function createMlsConfig(options: MlsConfigOptions = {}): ClientConfig {
  const o = { ...MLS_DEFAULTS, ...options };
  const retainEpochs = intInRange("retainEpochs", o.retainEpochs, 1, 16);
  const maxSkippedKeys = intInRange("maxSkippedKeys", o.maxSkippedKeys, 1, 10_000);
  const maxForwardSteps = intInRange("maxForwardSteps", o.maxForwardSteps, 1, 100_000);
  const padToLength = intInRange("padToLength", o.padToLength, 0, 65_536);
  const verifyDevice = o.verifyDevice;
  const authService: AuthenticationService = {
    async validateCredential(credential, signaturePublicKey) {
      let certificate: DeviceCertificate;
      try {
        certificate = certificateFromCredential(credential);
      } catch {
        return false;
      }
      if (!(await verifyDeviceCertificateAsync(certificate, signaturePublicKey))) return false;
      return verifyDevice === undefined ? true : await verifyDevice(certificate, signaturePublicKey);
    },
  };
  return Object.freeze({
    keyRetentionConfig: Object.freeze({
      retainKeysForEpochs: retainEpochs,
      retainKeysForGenerations: maxSkippedKeys,
      maximumForwardRatchetSteps: maxForwardSteps,
    }),
    lifetimeConfig: defaultLifetimeConfig,
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    paddingConfig: Object.freeze({ kind: "padUntilLength" as const, padUntilLength: padToLength }),
    authService,
  });
}

const defaultConfig = createMlsConfig();

// ---------------------------------------------------------------------------------------------
// Wiping

function wipeAll(secrets: readonly (Uint8Array | undefined)[]): void {
  // allSecretTreeValues (ts-mls 1.6.4) returns a sparse array: skip its holes.
  for (const s of secrets) s?.fill(0);
}

/**
 * Wipes what ts-mls reported as consumed, and the secret trees of epochs that dropped out of
 * the retention window (ts-mls 1.6.4 drops them from the state without reporting them).
 */
function retire(previous: ClientState, next: ClientState, consumed: readonly Uint8Array[]): void {
  for (const [epoch, data] of previous.historicalReceiverData) {
    if (next.historicalReceiverData.has(epoch)) continue;
    wipeAll(allSecretTreeValues(data.secretTree));
    data.senderDataSecret.fill(0);
  }
  wipeAll(consumed);
}

// ---------------------------------------------------------------------------------------------
// Groups

export type GroupState = ClientState;

/** A member of the group: its leaf (RFC 9420 §7.2) and the device its credential names. */
export interface Member {
  readonly leafIndex: number;
  readonly device: DeviceRef;
  readonly signaturePublicKey: Uint8Array;
  /** The identity key the leaf's certificate names (checked where the leaf was validated). */
  readonly identityKey: Uint8Array;
}

/** The members of a ratchet tree, leaf by leaf (also used by commit-audit.ts). */
export function membersOfTree(tree: RatchetTree): Member[] {
  const out: Member[] = [];
  for (let nodeIndex = 0; nodeIndex < tree.length; nodeIndex += 2) {
    const node = tree[nodeIndex];
    if (node?.nodeType !== "leaf") continue;
    const certificate = certificateFromCredential(node.leaf.credential);
    out.push(
      Object.freeze({
        leafIndex: nodeIndex / 2,
        device: { userId: certificate.userId, deviceId: certificate.deviceId },
        signaturePublicKey: node.leaf.signaturePublicKey,
        identityKey: certificate.identityKey,
      }),
    );
  }
  return out;
}

export function groupMembers(state: GroupState): Member[] {
  return membersOfTree(state.ratchetTree);
}

export function groupEpoch(state: GroupState): bigint {
  return state.groupContext.epoch;
}

export function groupIdOf(state: GroupState): Uint8Array {
  return state.groupContext.groupId;
}

/** The group's cipher suite, fixed when it was created (RFC 9420 §11). */
export function groupSuite(state: GroupState): MlsSuite {
  return suiteOf(state.groupContext.cipherSuite);
}

export function ownLeafIndex(state: GroupState): number {
  return state.privatePath.leafIndex;
}

/**
 * The device this state's own leaf names, undefined once that leaf is blank (this device was
 * removed). Decodes that one credential only, where groupMembers decodes every member's.
 */
export function ownLeafDevice(state: GroupState): DeviceRef | undefined {
  return memberAt(state.ratchetTree, ownLeafIndex(state))?.device;
}

/** False once this device has been removed (or the group awaits a ReInit). */
export function isActiveMember(state: GroupState): boolean {
  return state.groupActiveState.kind === "active";
}

export interface CreateGroupOptions {
  /** Default: 16 random bytes. */
  groupId?: Uint8Array;
  config?: ClientConfig;
  /** The cipher suite: the server's (`/api/info` mlsSuite). Default "x25519". */
  suite?: MlsSuite;
}

/** A new group at epoch 0 with this device as its only member (RFC 9420 §11). */
export async function createGroup(
  identity: DeviceIdentity,
  options: CreateGroupOptions = {},
): Promise<GroupState> {
  const suite = options.suite ?? DEFAULT_MLS_SUITE;
  const cs = await ciphersuiteImpl(suite);
  const groupId = options.groupId ?? cs.rng.randomBytes(16);
  if (groupId.length === 0 || groupId.length > 255) throw new RangeError("groupId must be 1..255 bytes");
  const own = await makeKeyPackage(identity, false, { suite });
  const kp = keyPackageOf(own.keyPackage, "key_package_unusable");
  return guarded(() =>
    mlsCreateGroup(
      groupId,
      kp,
      {
        initPrivateKey: own.initPrivateKey,
        hpkePrivateKey: own.hpkePrivateKey,
        signaturePrivateKey: identity.signaturePrivateKey,
      },
      [],
      cs,
      options.config ?? defaultConfig,
    ),
  );
}

/**
 * A Commit made locally but not yet accepted by the delivery service. Send `commit` (and
 * `welcome` to the new members); when the service accepts it, call mergePendingCommit. When it
 * answers "stale epoch", drop this value, process the winning commit, and retry.
 */
export interface PendingCommit {
  /** MLSMessage(PublicMessage) carrying the Commit (RFC 9420 §6.2, §12.4). */
  readonly commit: Uint8Array;
  /** MLSMessage(Welcome) for added members (RFC 9420 §12.4.3), when the commit adds any. */
  readonly welcome: Uint8Array | undefined;
  /** The epoch the Commit was made in; the delivery service orders commits by it. */
  readonly epoch: bigint;
  /** The state after the Commit. Persist it with the pending commit if it must survive a restart. */
  readonly newState: GroupState;
}

const pendingInternals = new WeakMap<PendingCommit, { previous: ClientState; consumed: Uint8Array[] }>();

async function commit(state: GroupState, proposals: Proposal[]): Promise<PendingCommit> {
  const cs = await implOf(state);
  const result = await guarded(() =>
    createCommit(
      { state, cipherSuite: cs, pskIndex: makePskIndex(state, {}) },
      { extraProposals: proposals, wireAsPublicMessage: true, ratchetTreeExtension: true },
    ),
  );
  const pending: PendingCommit = Object.freeze({
    commit: encodeMessage(result.commit),
    welcome:
      result.welcome === undefined
        ? undefined
        : encodeMessage({ version: "mls10", wireformat: "mls_welcome", welcome: result.welcome }),
    epoch: state.groupContext.epoch,
    newState: result.newState,
  });
  pendingInternals.set(pending, { previous: state, consumed: result.consumed });
  return pending;
}

/**
 * Commit adding one device per KeyPackage (RFC 9420 §12.1.1). KeyPackages are validated (§10.1);
 * one of another cipher suite than the group's throws ParleyCryptoError `suite_mismatch`
 * (§12.1.1: "the KeyPackage's cipher suite MUST match the group's").
 */
export async function addMembers(
  state: GroupState,
  keyPackages: readonly Uint8Array[],
): Promise<PendingCommit> {
  if (keyPackages.length === 0) throw new RangeError("addMembers needs at least one KeyPackage");
  const proposals: Proposal[] = keyPackages.map((bytes) => {
    const keyPackage = keyPackageOf(bytes, "key_package_unusable");
    if (keyPackage.cipherSuite !== state.groupContext.cipherSuite)
      throw new ParleyCryptoError("suite_mismatch");
    return { proposalType: "add", add: { keyPackage } };
  });
  return commit(state, proposals);
}

/**
 * Commit removing the members at these leaves (RFC 9420 §12.1.3). A committer cannot remove
 * itself (§12.2): the members who stay remove a device that left.
 */
export async function removeMembers(
  state: GroupState,
  leafIndices: readonly number[],
): Promise<PendingCommit> {
  if (leafIndices.length === 0) throw new RangeError("removeMembers needs at least one leaf index");
  const present = new Set(groupMembers(state).map((m) => m.leafIndex));
  for (const i of leafIndices) {
    if (i === ownLeafIndex(state))
      throw new RangeError("a member cannot commit its own removal (RFC 9420 §12.2)");
    if (!present.has(i)) throw new RangeError(`no member at leaf ${i}`);
  }
  return commit(
    state,
    [...new Set(leafIndices)].map((removed) => ({ proposalType: "remove", remove: { removed } })),
  );
}

/**
 * A Commit with a fresh UpdatePath (RFC 9420 §12.4): new leaf and path keys, hence
 * post-compromise security. Proposals already received are committed with it; the path is
 * still required, since Parley only ever proposes Removes (§12.4: Remove and empty commits
 * need a path).
 */
export function selfUpdate(state: GroupState): Promise<PendingCommit> {
  return commit(state, []);
}

/**
 * The delivery service accepted the pending Commit: its state becomes current, and the
 * consumed secrets of the old epoch are wiped. Pass `current` when the device went on using
 * the old epoch's state after making the Commit (it sent or read application messages while
 * waiting for the delivery service): the retained receiver data of the old epoch is then taken
 * from `current`, so late messages of that epoch still decrypt. The states before the merge
 * must not be used again.
 */
export function mergePendingCommit(pending: PendingCommit, current?: GroupState): GroupState {
  const internals = pendingInternals.get(pending);
  if (internals === undefined) throw new TypeError("not a PendingCommit from this module, or already merged");
  let next = pending.newState;
  const base = current ?? internals.previous;
  if (current !== undefined && current !== internals.previous) {
    if (current.groupContext.epoch !== pending.epoch || !equalBytes(groupIdOf(current), groupIdOf(next))) {
      throw new RangeError("current must be the same group's state in the epoch the commit was made in");
    }
    const historical = new Map<bigint, EpochReceiverData>();
    for (const [epoch, data] of next.historicalReceiverData) {
      historical.set(
        epoch,
        epoch === pending.epoch
          ? { ...data, secretTree: current.secretTree }
          : (current.historicalReceiverData.get(epoch) ?? data),
      );
    }
    next = { ...next, historicalReceiverData: historical };
  }
  pendingInternals.delete(pending);
  retire(base, next, internals.consumed);
  return next;
}

/** The KeyPackageRefs a Welcome is addressed to (RFC 9420 §12.4.3), for routing and lookup. */
export function welcomeKeyPackageRefs(welcome: Uint8Array): Uint8Array[] {
  const m = decodeMessage(welcome);
  if (m.wireformat !== "mls_welcome") throw new ParleyCryptoError("malformed_message");
  return m.welcome.secrets.map((s) => s.newMember);
}

/**
 * Joins a group from a Welcome (RFC 9420 §12.4.3.1), using whichever bundle it is addressed
 * to. The ratchet tree comes from the GroupInfo's ratchet_tree extension (Parley's commits
 * always include it). The used bundle's init private key is wiped unless it is the last-resort
 * package; delete the bundle from storage too.
 */
export async function joinFromWelcome(
  welcome: Uint8Array,
  bundles: readonly KeyPackageBundle[],
  identity: DeviceIdentity,
  config: ClientConfig = defaultConfig,
): Promise<GroupState> {
  const m = decodeMessage(welcome);
  if (m.wireformat !== "mls_welcome") throw new ParleyCryptoError("malformed_message");
  const cs = await implFor(m.welcome.cipherSuite);
  const refs = m.welcome.secrets.map((s) => s.newMember);
  const bundle = bundles.find((b) => refs.some((r) => equalBytes(r, b.ref)));
  if (bundle === undefined) throw new ParleyCryptoError("no_matching_key_package");
  const kp = keyPackageOf(bundle.keyPackage, "key_package_unusable");
  if (kp.cipherSuite !== m.welcome.cipherSuite) throw new ParleyCryptoError("suite_mismatch");
  const state = await guarded(() =>
    joinGroup(
      m.welcome,
      kp,
      {
        initPrivateKey: bundle.initPrivateKey,
        hpkePrivateKey: bundle.hpkePrivateKey,
        signaturePrivateKey: identity.signaturePrivateKey,
      },
      makePskIndex(undefined, {}),
      cs,
      undefined,
      undefined,
      config,
    ),
  );
  if (!bundle.lastResort) bundle.initPrivateKey.fill(0);
  return state;
}

/** Encrypts application data as a PrivateMessage (RFC 9420 §6.3); returns MLSMessage bytes. */
export async function encryptApplicationMessage(
  state: GroupState,
  plaintext: Uint8Array,
): Promise<{ state: GroupState; message: Uint8Array }> {
  const cs = await implOf(state);
  const result = await guarded(() => createApplicationMessage(state, plaintext, cs));
  const message = encodeMessage({
    version: "mls10",
    wireformat: "mls_private_message",
    privateMessage: result.privateMessage,
  });
  retire(state, result.newState, result.consumed);
  return { state: result.newState, message };
}

export type IncomingResult =
  | {
      readonly kind: "application";
      readonly state: GroupState;
      readonly plaintext: Uint8Array;
      readonly sender: Member;
      /** The epoch the message was sent in (may be a retained past epoch). */
      readonly epoch: bigint;
    }
  | {
      readonly kind: "commit";
      readonly state: GroupState;
      /** The new epoch. */
      readonly epoch: bigint;
      readonly committer: Member | undefined;
      readonly added: readonly Member[];
      readonly removed: readonly Member[];
      /** This device was removed: the state can no longer send or follow the group. */
      readonly removedSelf: boolean;
    }
  | {
      readonly kind: "proposal";
      readonly state: GroupState;
      readonly proposer: Member | undefined;
      readonly proposalType: Proposal["proposalType"];
    }
  | {
      /** The policy callback rejected the proposal or commit; the state is unchanged. */
      readonly kind: "rejected";
      readonly state: GroupState;
    };

export interface ProcessOptions {
  /** Accepts or rejects incoming proposals and commits (e.g. only owners may remove). Default: accept all. */
  policy?: IncomingMessageCallback;
}

/** Who joined and who left between two member lists: a leaf counts as the same member while its index and signature key stay. */
export function memberDiff(
  before: readonly Member[],
  after: readonly Member[],
): { added: Member[]; removed: Member[] } {
  const key = (m: Member) => `${m.leafIndex}:${Array.from(m.signaturePublicKey).join(",")}`;
  const beforeKeys = new Set(before.map(key));
  const afterKeys = new Set(after.map(key));
  return {
    added: after.filter((m) => !beforeKeys.has(key(m))),
    removed: before.filter((m) => !afterKeys.has(key(m))),
  };
}

function memberAt(tree: RatchetTree, leafIndex: number | undefined): Member | undefined {
  if (leafIndex === undefined) return undefined;
  // Only the sender's leaf: decoding every member's credential cost each message O(group size).
  const node = tree[leafIndex * 2];
  if (node?.nodeType !== "leaf") return undefined;
  const certificate = certificateFromCredential(node.leaf.credential);
  return Object.freeze({
    leafIndex,
    device: { userId: certificate.userId, deviceId: certificate.deviceId },
    signaturePublicKey: node.leaf.signaturePublicKey,
    identityKey: certificate.identityKey,
  });
}

function checkGroup(state: GroupState, groupId: Uint8Array): void {
  if (!equalBytes(groupId, state.groupContext.groupId)) throw new ParleyCryptoError("wrong_group");
}

/** Sender leaf of a PrivateMessage, from its encrypted sender data (RFC 9420 §6.3.2). */
async function privateSenderLeaf(
  state: GroupState,
  pm: PrivateMessage,
): Promise<{ leaf: number; tree: RatchetTree }> {
  const { data } = receiverData(state, pm.epoch);
  const cs = await implOf(state);
  const senderData = await guarded(() => decryptSenderData(pm, data.senderDataSecret, cs));
  if (senderData === undefined) throw new ParleyCryptoError("malformed_message");
  return { leaf: senderData.leafIndex, tree: data.ratchetTree };
}

/** What reading a PrivateMessage of `epoch` needs: the current epoch's, or a retained past one's. */
function receiverData(state: GroupState, epoch: bigint): { data: EpochReceiverData; current: boolean } {
  if (epoch === state.groupContext.epoch) {
    const data: EpochReceiverData = {
      senderDataSecret: state.keySchedule.senderDataSecret,
      secretTree: state.secretTree,
      ratchetTree: state.ratchetTree,
      groupContext: state.groupContext,
      resumptionPsk: state.keySchedule.resumptionPsk,
    };
    return { data, current: true };
  }
  const past = state.historicalReceiverData.get(epoch);
  if (past === undefined) throw new ParleyCryptoError("epoch_unavailable");
  return { data: past, current: false };
}

/**
 * An application PrivateMessage (RFC 9420 §6.3): what ts-mls's processPrivateMessage does for
 * one, but keeping the sender's leaf that unprotectPrivateMessage decrypted, so the sender data
 * is decrypted once per message instead of twice (it was a fifth of a message's HKDF and
 * ChaCha20 work). Handshake messages still go through processPrivateMessage.
 */
async function openApplicationMessage(
  state: GroupState,
  pm: PrivateMessage,
  cs: CiphersuiteImpl,
): Promise<IncomingResult> {
  const { data, current } = receiverData(state, pm.epoch);
  const opened = await guarded(() =>
    unprotectPrivateMessage(
      data.senderDataSecret,
      pm,
      data.secretTree,
      data.ratchetTree,
      data.groupContext,
      state.clientConfig.keyRetentionConfig,
      cs,
    ),
  );
  const content = opened.content.content;
  if (content.contentType !== "application" || content.sender.senderType !== "member") {
    throw new ParleyCryptoError("invalid_message");
  }
  const sender = memberAt(data.ratchetTree, content.sender.leafIndex);
  if (sender === undefined) throw new ParleyCryptoError("invalid_message");
  let next: GroupState;
  if (current) next = { ...state, secretTree: opened.tree };
  else {
    const historical = new Map(state.historicalReceiverData);
    historical.set(pm.epoch, { ...data, secretTree: opened.tree });
    next = { ...state, historicalReceiverData: historical };
  }
  retire(state, next, opened.consumed);
  return { kind: "application", state: next, plaintext: content.applicationData, sender, epoch: pm.epoch };
}

/**
 * Processes one incoming MLSMessage for this group: application data, a proposal or a commit.
 * Throws ParleyCryptoError with a stable code: `authentication_failed` (tampered or forged),
 * `message_replayed` (its key was already used), `epoch_unavailable`, `wrong_group`,
 * `own_commit`, `not_in_group`, `malformed_message`, `invalid_message`, `message_too_far_ahead`.
 * On failure the given state is untouched and remains current.
 */
export async function processMessage(
  state: GroupState,
  bytes: Uint8Array,
  options: ProcessOptions = {},
): Promise<IncomingResult> {
  const m = decodeMessage(bytes);
  const cs = await implOf(state);
  if (m.wireformat === "mls_private_message") {
    const pm = m.privateMessage;
    checkGroup(state, pm.groupId);
    if (pm.epoch > state.groupContext.epoch) throw new ParleyCryptoError("epoch_unavailable");
    if (pm.contentType !== "application" && !isActiveMember(state))
      throw new ParleyCryptoError("not_in_group");
    if (pm.contentType === "application") return openApplicationMessage(state, pm, cs);
    const { leaf } = await privateSenderLeaf(state, pm);
    const pskIndex = makePskIndex(state, {});
    const result = await guarded(() => processPrivateMessage(state, pm, pskIndex, cs, options.policy));
    if (result.kind === "applicationMessage") throw new ParleyCryptoError("invalid_message");
    return afterHandshake(state, result.newState, result.actionTaken, result.consumed, leaf, pm.contentType);
  }
  if (m.wireformat === "mls_public_message") {
    const pub: PublicMessage = m.publicMessage;
    checkGroup(state, pub.content.groupId);
    if (pub.content.epoch !== state.groupContext.epoch) throw new ParleyCryptoError("epoch_unavailable");
    if (!isActiveMember(state)) throw new ParleyCryptoError("not_in_group");
    const sender = pub.content.sender;
    const senderLeaf = sender.senderType === "member" ? sender.leafIndex : undefined;
    if (pub.content.contentType === "commit" && senderLeaf === ownLeafIndex(state)) {
      throw new ParleyCryptoError("own_commit");
    }
    if (pub.content.contentType === "application") throw new ParleyCryptoError("invalid_message");
    const pskIndex = makePskIndex(state, {});
    const result = await guarded(() => processPublicMessage(state, pub, pskIndex, cs, options.policy));
    return afterHandshake(
      state,
      result.newState,
      result.actionTaken,
      result.consumed,
      senderLeaf,
      pub.content.contentType,
    );
  }
  throw new ParleyCryptoError("invalid_message");
}

function afterHandshake(
  previous: GroupState,
  next: GroupState,
  action: "accept" | "reject",
  consumed: Uint8Array[],
  senderLeaf: number | undefined,
  contentType: "proposal" | "commit" | "application",
): IncomingResult {
  if (action === "reject") {
    retire(previous, next, consumed);
    return { kind: "rejected", state: next };
  }
  if (contentType === "proposal") {
    retire(previous, next, consumed);
    const ref = Object.keys(next.unappliedProposals).find((r) => !(r in previous.unappliedProposals));
    const added = ref === undefined ? undefined : next.unappliedProposals[ref];
    if (added === undefined) throw new ParleyCryptoError("invalid_message"); // a proposal already held
    return {
      kind: "proposal",
      state: next,
      proposer: memberAt(previous.ratchetTree, senderLeaf),
      proposalType: added.proposal.proposalType,
    };
  }
  const { added, removed } = memberDiff(membersOfTree(previous.ratchetTree), membersOfTree(next.ratchetTree));
  retire(previous, next, consumed);
  return {
    kind: "commit",
    state: next,
    epoch: next.groupContext.epoch,
    committer: memberAt(previous.ratchetTree, senderLeaf),
    added,
    removed,
    removedSelf: next.groupActiveState.kind === "removedFromGroup",
  };
}

// ---------------------------------------------------------------------------------------------
// External joins (RFC 9420 §12.4.3.2): a new device of a member, or a device that lost its state

/** MLSMessage(GroupInfo) with external_pub and the ratchet tree, for the delivery service to keep. */
export async function exportGroupInfo(state: GroupState): Promise<Uint8Array> {
  const cs = await implOf(state);
  const groupInfo = await guarded(() => createGroupInfoWithExternalPubAndRatchetTree(state, [], cs));
  return encodeMessage({ version: "mls10", wireformat: "mls_group_info", groupInfo });
}

/**
 * MLSMessage(GroupInfo) bytes as the GroupInfo and the ratchet tree it carries (Parley's always
 * carry one); also used by commit-audit.ts.
 */
export function decodeGroupInfo(bytes: Uint8Array): { info: GroupInfo; tree: RatchetTree } {
  const m = decodeMessage(bytes);
  if (m.wireformat !== "mls_group_info") throw new ParleyCryptoError("malformed_message");
  suiteOf(m.groupInfo.groupContext.cipherSuite);
  const tree = ratchetTreeFromExtension(m.groupInfo);
  if (tree === undefined) throw new ParleyCryptoError("invalid_message");
  return { info: m.groupInfo, tree };
}

/**
 * Joins by external Commit from a stored GroupInfo. With `resync`, a leaf already holding this
 * device's signature key is removed in the same Commit (rejoin after lost state). Returns the
 * Commit for the delivery service and the state to use once it is accepted.
 */
export async function joinByExternalCommit(
  groupInfo: Uint8Array,
  identity: DeviceIdentity,
  config: ClientConfig = defaultConfig,
): Promise<{ state: GroupState; commit: Uint8Array }> {
  const { info, tree } = decodeGroupInfo(groupInfo);
  const resync = membersOfTree(tree).some((x) =>
    equalBytes(x.signaturePublicKey, identity.signaturePublicKey),
  );
  const suite = suiteOf(info.groupContext.cipherSuite);
  const cs = await ciphersuiteImpl(suite);
  const own = await makeKeyPackage(identity, false, { suite });
  const kp = keyPackageOf(own.keyPackage, "key_package_unusable");
  const result = await guarded(() =>
    joinGroupExternal(
      info,
      kp,
      {
        initPrivateKey: own.initPrivateKey,
        hpkePrivateKey: own.hpkePrivateKey,
        signaturePrivateKey: identity.signaturePrivateKey,
      },
      resync,
      cs,
      undefined,
      config,
    ),
  );
  own.initPrivateKey.fill(0);
  return {
    state: result.newState,
    commit: encodeMessage({
      version: "mls10",
      wireformat: "mls_public_message",
      publicMessage: result.publicMessage,
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Persistence

const STATE_MAGIC = 0x50; // "P"
const STATE_VERSION = 1;

/**
 * The whole group state, secrets included, as bytes: magic, version, then ts-mls's GroupState
 * encoding. The caller encrypts it at rest.
 */
export function exportGroupState(state: GroupState): Uint8Array {
  const body = encodeGroupState(state);
  const out = new Uint8Array(2 + body.length);
  out[0] = STATE_MAGIC;
  out[1] = STATE_VERSION;
  out.set(body, 2);
  return out;
}

/** Restores exportGroupState's bytes. Throws ParleyCryptoError `invalid_state`. */
export function importGroupState(bytes: Uint8Array, config: ClientConfig = defaultConfig): GroupState {
  if (bytes[0] !== STATE_MAGIC || bytes[1] !== STATE_VERSION) throw new ParleyCryptoError("invalid_state");
  let decoded: ReturnType<typeof decodeGroupState>;
  try {
    decoded = decodeGroupState(bytes, 2);
  } catch (cause) {
    throw new ParleyCryptoError("invalid_state", { cause });
  }
  if (decoded === undefined || 2 + decoded[1] !== bytes.length) throw new ParleyCryptoError("invalid_state");
  const state = decoded[0];
  try {
    suiteOf(state.groupContext.cipherSuite);
  } catch (cause) {
    throw new ParleyCryptoError("invalid_state", { cause });
  }
  return { ...state, clientConfig: config };
}

// ---------------------------------------------------------------------------------------------
// For the delivery service: what a relayed message says about itself, without any key

export type MessageInfo =
  | {
      readonly wireformat: "public_message";
      readonly groupId: Uint8Array;
      readonly epoch: bigint;
      readonly contentType: "proposal" | "commit";
      /** Member sender's leaf; undefined for external senders and external commits. */
      readonly senderLeafIndex: number | undefined;
      readonly senderType: "member" | "external" | "new_member_proposal" | "new_member_commit";
    }
  | {
      readonly wireformat: "private_message";
      readonly groupId: Uint8Array;
      readonly epoch: bigint;
      readonly contentType: "application" | "proposal" | "commit";
    }
  | {
      readonly wireformat: "welcome";
      readonly keyPackageRefs: readonly Uint8Array[];
      /** The cipher suite named in the Welcome (RFC 9420 §12.4.3); undefined when Parley runs no such suite. */
      readonly suite: MlsSuite | undefined;
    }
  | {
      readonly wireformat: "group_info";
      readonly groupId: Uint8Array;
      readonly epoch: bigint;
      /** The group's cipher suite from its GroupContext; undefined when Parley runs no such suite. */
      readonly suite: MlsSuite | undefined;
    }
  | { readonly wireformat: "key_package"; readonly suite: MlsSuite | undefined };

/**
 * Parses the cleartext framing of an MLSMessage (RFC 9420 §6): enough for the delivery service
 * to route it and to order Commits by epoch. Nothing here is authenticated; a member's client
 * verifies everything when it processes the message.
 */
export function inspectMessage(bytes: Uint8Array): MessageInfo {
  const m = decodeMessage(bytes);
  switch (m.wireformat) {
    case "mls_public_message": {
      const c = m.publicMessage.content;
      if (c.contentType === "application") throw new ParleyCryptoError("invalid_message");
      return {
        wireformat: "public_message",
        groupId: c.groupId,
        epoch: c.epoch,
        contentType: c.contentType,
        senderLeafIndex: c.sender.senderType === "member" ? c.sender.leafIndex : undefined,
        senderType: c.sender.senderType,
      };
    }
    case "mls_private_message":
      return {
        wireformat: "private_message",
        groupId: m.privateMessage.groupId,
        epoch: m.privateMessage.epoch,
        contentType: m.privateMessage.contentType,
      };
    case "mls_welcome":
      return {
        wireformat: "welcome",
        keyPackageRefs: m.welcome.secrets.map((s) => s.newMember),
        suite: mlsSuiteOf(m.welcome.cipherSuite),
      };
    case "mls_group_info":
      return {
        wireformat: "group_info",
        groupId: m.groupInfo.groupContext.groupId,
        epoch: m.groupInfo.groupContext.epoch,
        suite: mlsSuiteOf(m.groupInfo.groupContext.cipherSuite),
      };
    case "mls_key_package":
      return { wireformat: "key_package", suite: mlsSuiteOf(m.keyPackage.cipherSuite) };
    default:
      return assertNever(m);
  }
}
