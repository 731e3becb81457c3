/**
 * The MLS measurements of scenario 5, in a module with no Node imports, so that the same code
 * runs in this process (crypto.ts) and in a Chromium page (../web/crypto-page.ts). Every loop is
 * bounded in count and in time.
 */
import {
  addMembers,
  auditCommit,
  ciphersuiteName,
  createGroup,
  type DeviceIdentity,
  encryptApplicationMessage,
  exportGroupInfo,
  exportGroupState,
  forgetVerifiedCertificates,
  type GroupState,
  generateDeviceIdentity,
  generateKeyPackages,
  joinFromWelcome,
  type KeyPackageBundle,
  mergePendingCommit,
  processMessage,
} from "@parley/crypto";
import type { MlsSuite } from "@parley/protocol";
import type { AddTiming, CryptoData, GroupSizeFigures, MessageRate } from "./crypto-data.js";

/** Encryption of one payload size stops at the message count or after this long. */
const ENCRYPT_BUDGET_MS = { full: 2000, quick: 500 } as const;
/** Decryption of what was encrypted stops after this long (it is slower than encryption). */
const DECRYPT_BUDGET_MS = { full: 8000, quick: 2000 } as const;
const WARMUP_MESSAGES = 50;
/** One device's upload batch (the KeyPackage directory's default batch). */
const KEY_PACKAGE_BATCH = 50;

/** What a measurement covers: the slice of the bench plan it reads. */
export interface MlsPlan {
  readonly mode: "full" | "quick";
  readonly cryptoPayloads: readonly number[];
  readonly cryptoMessages: number;
  readonly cryptoAdds: readonly number[];
  readonly cryptoGroupSizes: readonly number[];
}

/**
 * KeyPackages per second, message rates per payload size, Commits adding members, joins of
 * groups; the provider comparison is left to the caller (it needs Node).
 */
export async function measureMls(
  plan: MlsPlan,
  suite: MlsSuite,
  provider: string,
  log: (line: string) => void,
): Promise<CryptoData> {
  const t0 = performance.now();
  const people = new People(suite);
  // A short untimed pass first, so that the first repetition does not also time the JIT.
  await messageRate(people, 256, WARMUP_MESSAGES, plan.mode);
  await addTiming(people, 2);

  const kpId = await people.identity();
  const t = performance.now();
  const batch = await generateKeyPackages(kpId, KEY_PACKAGE_BATCH, { suite });
  const kpMs = performance.now() - t;
  const keyPackages = {
    count: KEY_PACKAGE_BATCH,
    ms: kpMs,
    perS: (KEY_PACKAGE_BATCH / kpMs) * 1000,
    bytes: batch[0]?.keyPackage.length ?? 0,
  };
  log(`    ${suite}: ${keyPackages.perS.toFixed(0)} KeyPackages/s, ${keyPackages.bytes} B each`);

  const messages: MessageRate[] = [];
  for (const payloadBytes of plan.cryptoPayloads) {
    const m = await messageRate(people, payloadBytes, plan.cryptoMessages, plan.mode);
    messages.push(m);
    log(
      `    ${payloadBytes} B: encrypt ${m.encryptPerS.toFixed(0)} msgs/s, decrypt ${m.decryptPerS.toFixed(0)} msgs/s`,
    );
  }

  const adds: AddTiming[] = [];
  for (const k of plan.cryptoAdds) {
    const a = await addTiming(people, k);
    adds.push(a);
    log(
      `    add ${k}: commit ${a.commitMs.toFixed(0)} ms, processed in ${a.processMs.toFixed(0)} ms, ` +
        `audited by the server in ${(a.auditMs ?? Number.NaN).toFixed(1)} ms`,
    );
  }

  const groups: GroupSizeFigures[] = [];
  for (const n of plan.cryptoGroupSizes) {
    const g = await groupOf(people, n);
    groups.push(g);
    log(`    group of ${n}: join ${g.joinMs.toFixed(0)} ms, state ${(g.stateBytes / 1024).toFixed(1)} KiB`);
  }

  return {
    suite: ciphersuiteName(suite),
    provider,
    keyPackages,
    messages,
    adds,
    groups,
    comparison: null,
    baselineNote: null,
    durationS: (performance.now() - t0) / 1000,
  };
}

/** Device identities with distinct credentials, and one KeyPackage each when asked. */
class People {
  #n = 0;

  constructor(readonly suite: MlsSuite) {}

  identity(): Promise<DeviceIdentity> {
    this.#n += 1;
    return generateDeviceIdentity({ userId: `bench-${this.#n}`, deviceId: "d1" });
  }

  async withKeyPackages(count: number): Promise<{ id: DeviceIdentity; bundle: KeyPackageBundle }[]> {
    const out: { id: DeviceIdentity; bundle: KeyPackageBundle }[] = [];
    for (let i = 0; i < count; i++) {
      const id = await this.identity();
      const [bundle] = await generateKeyPackages(id, 1, { suite: this.suite });
      if (!bundle) throw new Error("generateKeyPackages returned nothing");
      out.push({ id, bundle });
    }
    return out;
  }

  /** A creator's group of `size` members built with one Commit (not timed). */
  async group(size: number): Promise<{ creator: GroupState; others: GroupState[] }> {
    let creator = await createGroup(await this.identity(), { suite: this.suite });
    if (size < 2) return { creator, others: [] };
    const joiners = await this.withKeyPackages(size - 1);
    const p = await addMembers(
      creator,
      joiners.map((j) => j.bundle.keyPackage),
    );
    creator = mergePendingCommit(p);
    if (!p.welcome) throw new Error("an add without a Welcome");
    // Only the first joiner is needed as an existing member; the others' states are not used.
    const first = joiners[0];
    const others = first ? [await joinFromWelcome(p.welcome, [first.bundle], first.id)] : [];
    return { creator, others };
  }
}

async function messageRate(
  people: People,
  payloadBytes: number,
  maxMessages: number,
  mode: MlsPlan["mode"],
): Promise<MessageRate> {
  const { creator, others } = await people.group(2);
  const [reader0] = others;
  if (!reader0) throw new Error("no second member");
  const payload = new Uint8Array(payloadBytes).fill(0x61);
  const sent: Uint8Array[] = [];
  let sender = creator;
  let t = performance.now();
  const encryptUntil = t + ENCRYPT_BUDGET_MS[mode];
  while (sent.length < maxMessages && performance.now() < encryptUntil) {
    const r = await encryptApplicationMessage(sender, payload);
    sender = r.state;
    sent.push(r.message);
  }
  const encryptMs = performance.now() - t;
  let reader = reader0;
  let decrypted = 0;
  t = performance.now();
  const decryptUntil = t + DECRYPT_BUDGET_MS[mode];
  for (const message of sent) {
    if (performance.now() >= decryptUntil) break;
    const r = await processMessage(reader, message);
    if (r.kind !== "application" || r.plaintext.length !== payloadBytes)
      throw new Error(`decryption gave ${r.kind}, not the ${payloadBytes} B sent`);
    reader = r.state;
    decrypted += 1;
  }
  const decryptMs = performance.now() - t;
  return {
    payloadBytes,
    messageBytes: sent[0]?.length ?? 0,
    encrypted: sent.length,
    encryptMs,
    encryptPerS: (sent.length / encryptMs) * 1000,
    decrypted,
    decryptMs,
    decryptPerS: (decrypted / decryptMs) * 1000,
  };
}

async function addTiming(people: People, added: number): Promise<AddTiming> {
  const { creator, others } = await people.group(2);
  const [existing] = others;
  if (!existing) throw new Error("no existing member");
  const joiners = await people.withKeyPackages(added);
  // Each timed step is a device that has not met these certificates yet (identity.ts keeps
  // the ones it verified): the creator, the existing member and the server are three devices.
  forgetVerifiedCertificates();
  let t = performance.now();
  const pending = await addMembers(
    creator,
    joiners.map((j) => j.bundle.keyPackage),
  );
  mergePendingCommit(pending);
  const commitMs = performance.now() - t;
  forgetVerifiedCertificates();
  t = performance.now();
  const r = await processMessage(existing, pending.commit);
  const processMs = performance.now() - t;
  if (r.kind !== "commit" || r.added.length !== added)
    throw new Error(`the existing member saw ${r.kind}, not a Commit adding ${added}`);
  // What the server pays for it: the two GroupInfos are what it holds and what it is sent.
  const before = await exportGroupInfo(creator);
  const after = await exportGroupInfo(pending.newState);
  forgetVerifiedCertificates();
  t = performance.now();
  const audit = await auditCommit(before, pending.commit, after);
  const auditMs = performance.now() - t;
  if (audit.added.length !== added)
    throw new Error(`the audit found ${audit.added.length} added, not ${added}`);
  return {
    added,
    membersBefore: 2,
    commitMs,
    processMs,
    auditMs,
    commitBytes: pending.commit.length,
    welcomeBytes: pending.welcome?.length ?? 0,
  };
}

async function groupOf(people: People, members: number): Promise<GroupSizeFigures> {
  const { creator } = await people.group(members - 1);
  const [newcomer] = await people.withKeyPackages(1);
  if (!newcomer) throw new Error("no newcomer");
  const pending = await addMembers(creator, [newcomer.bundle.keyPackage]);
  const member = mergePendingCommit(pending);
  if (!pending.welcome) throw new Error("an add without a Welcome");
  forgetVerifiedCertificates();
  const t = performance.now();
  const joined = await joinFromWelcome(pending.welcome, [newcomer.bundle], newcomer.id);
  const joinMs = performance.now() - t;
  return {
    members,
    joinMs,
    welcomeBytes: pending.welcome.length,
    stateBytes: exportGroupState(member).length,
    newcomerStateBytes: exportGroupState(joined).length,
  };
}
