import type { MlsSuite } from "@parley/protocol";
import type { BenchPlan } from "../plan.js";
import { measureCryptoInChromium } from "../web/crypto-in-chromium.js";
import type { CryptoData } from "./crypto-data.js";
import { measureMls } from "./crypto-ops.js";
import { compareProviders } from "./crypto-providers.js";
import type { BenchContext, Scenario } from "./types.js";

const PROVIDER = "@parley/crypto (@noble/curves, @noble/ciphers, @noble/hashes)";

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
  cases: (plan) => [
    ...SUITES.map(({ suite, id, label }) => ({
      scenario: "crypto" as const,
      id,
      title:
        `${label} on the @noble provider: ${plan.cryptoPayloads.join(" and ")} B messages, ` +
        `add ${plan.cryptoAdds.join("/")} members, groups of ${plan.cryptoGroupSizes.join(" and ")}`,
      targets: ["parley" as const],
      inProcess: true,
      run: async (ctx: BenchContext) => ({
        kind: "crypto" as const,
        crypto: await runCrypto(ctx, ctx.plan, suite),
      }),
    })),
    {
      scenario: "crypto" as const,
      id: "crypto-chromium",
      title:
        `MLS suite 3 (X25519) in headless Chromium, the same code in a page: ${plan.cryptoPayloads.join(" and ")} B ` +
        `messages, add ${plan.cryptoAdds.join("/")} members, groups of ${plan.cryptoGroupSizes.join(" and ")}`,
      targets: ["parley" as const],
      inProcess: true,
      run: async (ctx: BenchContext) => ({
        kind: "crypto" as const,
        crypto: await measureCryptoInChromium(ctx.plan, "x25519", CHROMIUM_TIMEOUT_MS[ctx.plan.mode], (l) =>
          ctx.log(l),
        ),
      }),
    },
  ],
};

/** The whole Chromium run, page load to the last figure. */
const CHROMIUM_TIMEOUT_MS = { full: 600_000, quick: 120_000 } as const;

async function runCrypto(ctx: BenchContext, plan: BenchPlan, suite: MlsSuite): Promise<CryptoData> {
  const t0 = performance.now();
  const measured = await measureMls(plan, suite, PROVIDER, (line) => ctx.log(line));
  // ts-mls's default provider needs optional packages for X-Wing: the baseline is suite 3's only.
  const t = performance.now();
  const compared =
    suite === "x25519"
      ? await compareProviders(plan.mode)
      : { comparison: null, note: "the provider baseline runs for suite 3 only" };
  if (compared.comparison)
    ctx.log(`    provider comparison in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  else ctx.log(`    no provider baseline: ${compared.note}`);
  return {
    ...measured,
    comparison: compared.comparison,
    baselineNote: compared.note,
    durationS: (performance.now() - t0) / 1000,
  };
}
