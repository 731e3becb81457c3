import { PARLEY_CIPHERSUITE, parleyCiphersuite } from "@parley/crypto";
// ts-mls is @parley/crypto's dependency (hoisted); the baseline has to call it directly, because
// @parley/crypto always uses its own provider.
import {
  type CiphersuiteImpl,
  type CiphersuiteName,
  type ClientState,
  createApplicationMessage,
  createCommit,
  createGroup,
  defaultCapabilities,
  defaultCryptoProvider,
  defaultLifetime,
  emptyPskIndex,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processPrivateMessage,
} from "ts-mls";
import type { BenchPlan } from "../plan.js";
import type { ProviderComparison, ProviderFigures } from "./crypto-data.js";

/**
 * The natural baseline for Parley's provider is ts-mls's own default provider, which uses
 * WebCrypto (native code in Node) for SHA-256, HMAC, Ed25519, AES-GCM and, through @hpke/core,
 * X25519. For suite 3 that provider needs the optional
 * `@hpke/chacha20poly1305` package, which Parley does not install; suite 1 (X25519,
 * AES-128-GCM, SHA-256, Ed25519) it supports as is. So the comparison is suite 3 on our noble
 * provider against suite 1 on ts-mls's default provider: the same KEM, hash and signature
 * algorithms, a different AEAD, and pure JavaScript against WebCrypto.
 *
 * Both sides run the same ts-mls calls (no Parley wrapper, no encoding), so the ratio is the
 * provider's (and the AEAD's) cost, not Parley's.
 */
export const BASELINE_SUITE: CiphersuiteName = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";

const MESSAGES = { full: 500, quick: 200 } as const;
const BUDGET_MS = { full: 1000, quick: 400 } as const;
const ADDED = { full: 10, quick: 5 } as const;
const PAYLOAD_BYTES = 256;

export async function compareProviders(
  mode: BenchPlan["mode"],
): Promise<{ comparison: ProviderComparison | null; note: string | null }> {
  let baselineImpl: CiphersuiteImpl;
  try {
    baselineImpl = await getCiphersuiteImpl(getCiphersuiteFromName(BASELINE_SUITE), defaultCryptoProvider);
  } catch (e) {
    return {
      comparison: null,
      note: `ts-mls's default provider could not run ${BASELINE_SUITE}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  // A B B A, best of two per side: neither side always runs first, on a colder JIT.
  const oursImpl = parleyCiphersuite();
  const ours1 = await measure(PARLEY_CIPHERSUITE, "@parley/crypto (@noble)", oursImpl, mode);
  const base1 = await measure(BASELINE_SUITE, "ts-mls default (WebCrypto)", baselineImpl, mode);
  const base2 = await measure(BASELINE_SUITE, "ts-mls default (WebCrypto)", baselineImpl, mode);
  const ours2 = await measure(PARLEY_CIPHERSUITE, "@parley/crypto (@noble)", oursImpl, mode);
  return { comparison: { ours: better(ours1, ours2), baseline: better(base1, base2) }, note: null };
}

/** The faster of two runs of the same side, figure by figure. */
function better(a: ProviderFigures, b: ProviderFigures): ProviderFigures {
  return {
    ...a,
    encryptPerS: Math.max(a.encryptPerS, b.encryptPerS),
    decryptPerS: Math.max(a.decryptPerS, b.decryptPerS),
    addMs: Math.min(a.addMs, b.addMs),
    joinMs: Math.min(a.joinMs, b.joinMs),
  };
}

async function measure(
  suite: CiphersuiteName,
  provider: string,
  cs: CiphersuiteImpl,
  mode: BenchPlan["mode"],
): Promise<ProviderFigures> {
  let n = 0;
  const member = async () => {
    n += 1;
    const credential = {
      credentialType: "basic" as const,
      identity: new TextEncoder().encode(`baseline-${n}`),
    };
    return generateKeyPackage(credential, defaultCapabilities(), defaultLifetime, [], cs);
  };
  const add = (state: ClientState, kps: Awaited<ReturnType<typeof member>>[]) =>
    createCommit(
      { state, cipherSuite: cs },
      {
        extraProposals: kps.map((k) => ({
          proposalType: "add" as const,
          add: { keyPackage: k.publicPackage },
        })),
        ratchetTreeExtension: true,
      },
    );

  // Two members for the messages.
  const alice = await member();
  const bob = await member();
  let a = await createGroup(cs.rng.randomBytes(16), alice.publicPackage, alice.privatePackage, [], cs);
  const c1 = await add(a, [bob]);
  a = c1.newState;
  if (!c1.welcome) throw new Error("baseline: an add without a Welcome");
  let b = await joinGroup(c1.welcome, bob.publicPackage, bob.privatePackage, emptyPskIndex, cs);

  const payload = new Uint8Array(PAYLOAD_BYTES).fill(0x61);
  const sent = [];
  let t = performance.now();
  const until = t + BUDGET_MS[mode];
  while (sent.length < MESSAGES[mode] && performance.now() < until) {
    const r = await createApplicationMessage(a, payload, cs);
    a = r.newState;
    sent.push(r.privateMessage);
  }
  const encryptPerS = (sent.length / (performance.now() - t)) * 1000;
  t = performance.now();
  for (const pm of sent) {
    const r = await processPrivateMessage(b, pm, emptyPskIndex, cs);
    if (r.kind !== "applicationMessage") throw new Error("baseline: decryption gave no application message");
    b = r.newState;
  }
  const decryptPerS = (sent.length / (performance.now() - t)) * 1000;

  const joiners = [];
  for (let i = 0; i < ADDED[mode]; i++) joiners.push(await member());
  t = performance.now();
  const c2 = await add(a, joiners);
  const addMs = performance.now() - t;
  const first = joiners[0];
  if (!c2.welcome || !first) throw new Error("baseline: an add without a Welcome");
  t = performance.now();
  await joinGroup(c2.welcome, first.publicPackage, first.privatePackage, emptyPskIndex, cs);
  const joinMs = performance.now() - t;
  return { suite, provider, encryptPerS, decryptPerS, addMs, joinMs, added: ADDED[mode] };
}
