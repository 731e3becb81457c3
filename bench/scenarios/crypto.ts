import {
  addMembers,
  auditCommit,
  ciphersuiteName,
  createGroup,
  type DeviceIdentity,
  encryptApplicationMessage,
  exportGroupInfo,
  exportGroupState,
  type GroupState,
  generateDeviceIdentity,
  generateKeyPackages,
  joinFromWelcome,
  type KeyPackageBundle,
  mergePendingCommit,
  processMessage,
} from "@parley/crypto";
import type { MlsSuite } from "@parley/protocol";
import type { BenchPlan } from "../plan.js";
import type { AddTiming, CryptoData, GroupSizeFigures, MessageRate } from "./crypto-data.js";
import { compareProviders } from "./crypto-providers.js";
import type { BenchContext, Scenario } from "./types.js";

/** Encryption of one payload size stops at plan.cryptoMessages or after this long. */
const ENCRYPT_BUDGET_MS = { full: 2000, quick: 500 } as const;
/** Decryption of what was encrypted stops after this long (it is slower than encryption). */
const DECRYPT_BUDGET_MS = { full: 8000, quick: 2000 } as const;
const WARMUP_MESSAGES = 50;
/** One device's upload batch (the KeyPackage directory's default batch). */
const KEY_PACKAGE_BATCH = 50;

/**
 * Scenario 5, crypto: Parley's MLS operations (packages/crypto, suite 3 on the @noble provider)
 * timed in this process, through the same public API the client SDK uses. No server: the
 * figures are what a client device pays. Every loop is bounded in count and in time.
 *
 * - KeyPackages: one device generating its upload batch, packages per second.
 * - Messages: a two-member group; the creator encrypts up to N application messages of each
 *   payload size, then the other member decrypts them (processMessage), in order.
 * - Adds: a group of two (creator and one existing member) gets k members in one Commit; the
 *   creator's addMembers + merge, the existing member's processMessage of that Commit, and the
 *   delivery service's audit of it (auditCommit, what the server pays per Commit).
 * - Group sizes: a newcomer added to a group of N - 1 joins from its Welcome (joinFromWelcome)
 *   into a group of N; the serialised state of an existing member and of the newcomer.
 */
/** Both suites a server can run (PARLEY_MLS_SUITE), measured side by side, one case each. */
const SUITES: readonly { suite: MlsSuite; id: string; label: string }[] = [
  { suite: "x25519", id: "crypto", label: "MLS suite 3 (X25519)" },
  { suite: "xwing", id: "crypto-xwing", label: "MLS suite 0x0054 (X-Wing: ML-KEM-768 + X25519)" },
];

export const crypto: Scenario = {
  id: "crypto",
  number: 5,
  title: "Crypto: MLS encrypt/decrypt msgs/s, add 1/10/100/500 members, Welcome at 100 and 500, state size",
  cases: (plan) =>
    SUITES.map(({ suite, id, label }) => ({
      scenario: "crypto",
      id,
      title:
        `${label} on the @noble provider: ${plan.cryptoPayloads.join(" and ")} B messages, ` +
        `add ${plan.cryptoAdds.join("/")} members, groups of ${plan.cryptoGroupSizes.join(" and ")}`,
      targets: ["parley"],
      inProcess: true,
      run: async (ctx) => ({ kind: "crypto", crypto: await runCrypto(ctx, ctx.plan, suite) }),
    })),
};

async function runCrypto(ctx: BenchContext, plan: BenchPlan, suite: MlsSuite): Promise<CryptoData> {
  const t0 = performance.now();
  const people = new People(suite);
  // A short untimed pass first, so that the first repetition does not also time the JIT.
  await messageRate(people, 256, WARMUP_MESSAGES, plan.mode);
  await addTiming(people, 2);

  const kpId = await people.identity();
  let t = performance.now();
  const batch = await generateKeyPackages(kpId, KEY_PACKAGE_BATCH, { suite });
  const kpMs = performance.now() - t;
  const keyPackages = {
    count: KEY_PACKAGE_BATCH,
    ms: kpMs,
    perS: (KEY_PACKAGE_BATCH / kpMs) * 1000,
    bytes: batch[0]?.keyPackage.length ?? 0,
  };
  ctx.log(`    ${suite}: ${keyPackages.perS.toFixed(0)} KeyPackages/s, ${keyPackages.bytes} B each`);

  const messages: MessageRate[] = [];
  for (const payloadBytes of plan.cryptoPayloads) {
    const m = await messageRate(people, payloadBytes, plan.cryptoMessages, plan.mode);
    messages.push(m);
    ctx.log(
      `    ${payloadBytes} B: encrypt ${m.encryptPerS.toFixed(0)} msgs/s, decrypt ${m.decryptPerS.toFixed(0)} msgs/s`,
    );
  }

  const adds: AddTiming[] = [];
  for (const k of plan.cryptoAdds) {
    const a = await addTiming(people, k);
    adds.push(a);
    ctx.log(
      `    add ${k}: commit ${a.commitMs.toFixed(0)} ms, processed in ${a.processMs.toFixed(0)} ms, ` +
        `audited by the server in ${(a.auditMs ?? Number.NaN).toFixed(1)} ms`,
    );
  }

  const groups: GroupSizeFigures[] = [];
  for (const n of plan.cryptoGroupSizes) {
    const g = await groupOf(people, n);
    groups.push(g);
    ctx.log(
      `    group of ${n}: join ${g.joinMs.toFixed(0)} ms, state ${(g.stateBytes / 1024).toFixed(1)} KiB`,
    );
  }

  // ts-mls's default provider needs optional packages for X-Wing: the baseline is suite 3's only.
  t = performance.now();
  const compared =
    suite === "x25519"
      ? await compareProviders(plan.mode)
      : { comparison: null, note: "the provider baseline runs for suite 3 only" };
  if (compared.comparison)
    ctx.log(`    provider comparison in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  else ctx.log(`    no provider baseline: ${compared.note}`);

  return {
    suite: ciphersuiteName(suite),
    provider: "@parley/crypto (@noble/curves, @noble/ciphers, @noble/hashes)",
    keyPackages,
    messages,
    adds,
    groups,
    comparison: compared.comparison,
    baselineNote: compared.note,
    durationS: (performance.now() - t0) / 1000,
  };
}

/** Device identities with distinct credentials, and one KeyPackage each when asked. */
class People {
  #n = 0;

  constructor(readonly suite: MlsSuite) {}

  identity(): Promise<DeviceIdentity> {
    this.#n += 1;
    return generateDeviceIdentity({ accountId: `bench-${this.#n}`, deviceId: "d1" });
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
  mode: BenchPlan["mode"],
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
  let t = performance.now();
  const pending = await addMembers(
    creator,
    joiners.map((j) => j.bundle.keyPackage),
  );
  mergePendingCommit(pending);
  const commitMs = performance.now() - t;
  t = performance.now();
  const r = await processMessage(existing, pending.commit);
  const processMs = performance.now() - t;
  if (r.kind !== "commit" || r.added.length !== added)
    throw new Error(`the existing member saw ${r.kind}, not a Commit adding ${added}`);
  // What the server pays for it: the two GroupInfos are what it holds and what it is sent.
  const before = await exportGroupInfo(creator);
  const after = await exportGroupInfo(pending.newState);
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
