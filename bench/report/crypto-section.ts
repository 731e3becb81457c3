import { ratio, type Spread, spread } from "../measure/stats.js";
import type { CryptoData } from "../scenarios/crypto-data.js";
import type { RunRecord } from "../scenarios/types.js";
import { type BarGroup, barChart } from "./bar-chart.js";
import { cell, compact, kib, ms, num, table, times, withSpread } from "./format.js";

/**
 * Scenario 5 in the report: the repetitions of the crypto case folded into medians with their
 * spread, by payload size, by number of members added and by group size.
 */

export interface CryptoAgg {
  runs: number;
  suite: string;
  provider: string;
  keyPackagesPerS: Spread;
  keyPackageBatch: number;
  messages: { payloadBytes: number; messageBytes: number; encryptPerS: Spread; decryptPerS: Spread }[];
  adds: {
    added: number;
    membersBefore: number;
    commitMs: Spread;
    processMs: Spread;
    /** NaN median when no run measured it (older results). */
    auditMs: Spread;
    commitBytes: number;
    welcomeBytes: number;
  }[];
  groups: {
    members: number;
    joinMs: Spread;
    welcomeBytes: number;
    stateBytes: Spread;
    newcomerStateBytes: Spread;
  }[];
  comparison: {
    oursSuite: string;
    oursProvider: string;
    baselineSuite: string;
    baselineProvider: string;
    added: number;
    rows: { what: string; ours: Spread; baseline: Spread; higherIsBetter: boolean }[];
  } | null;
  baselineNote: string | null;
}

/** Folds the crypto runs of a case; null when none has data. */
export function aggregateCrypto(runs: readonly RunRecord[]): CryptoAgg | null {
  const list = runs.flatMap((r) => (r.data?.kind === "crypto" ? [r.data.crypto] : []));
  const first = list[0];
  if (!first) return null;
  const byKey = <T, K>(pick: (d: CryptoData) => readonly T[], key: (x: T) => K, want: K): T[] =>
    list.flatMap((d) => pick(d).filter((x) => key(x) === want));
  const comparisons = list.flatMap((d) => (d.comparison ? [d.comparison] : []));
  const c0 = comparisons[0];
  return {
    runs: list.length,
    suite: first.suite,
    provider: first.provider,
    keyPackagesPerS: spread(list.map((d) => d.keyPackages.perS)),
    keyPackageBatch: first.keyPackages.count,
    messages: first.messages.map((m0) => {
      const same = byKey(
        (d) => d.messages,
        (m) => m.payloadBytes,
        m0.payloadBytes,
      );
      return {
        payloadBytes: m0.payloadBytes,
        messageBytes: m0.messageBytes,
        encryptPerS: spread(same.map((m) => m.encryptPerS)),
        decryptPerS: spread(same.map((m) => m.decryptPerS)),
      };
    }),
    adds: first.adds.map((a0) => {
      const same = byKey(
        (d) => d.adds,
        (a) => a.added,
        a0.added,
      );
      return {
        added: a0.added,
        membersBefore: a0.membersBefore,
        commitMs: spread(same.map((a) => a.commitMs)),
        processMs: spread(same.map((a) => a.processMs)),
        auditMs: spread(same.map((a) => a.auditMs ?? Number.NaN)),
        commitBytes: a0.commitBytes,
        welcomeBytes: a0.welcomeBytes,
      };
    }),
    groups: first.groups.map((g0) => {
      const same = byKey(
        (d) => d.groups,
        (g) => g.members,
        g0.members,
      );
      return {
        members: g0.members,
        joinMs: spread(same.map((g) => g.joinMs)),
        welcomeBytes: g0.welcomeBytes,
        stateBytes: spread(same.map((g) => g.stateBytes)),
        newcomerStateBytes: spread(same.map((g) => g.newcomerStateBytes)),
      };
    }),
    comparison: c0
      ? {
          oursSuite: c0.ours.suite,
          oursProvider: c0.ours.provider,
          baselineSuite: c0.baseline.suite,
          baselineProvider: c0.baseline.provider,
          added: c0.ours.added,
          rows: [
            {
              what: "encrypt, msgs/s (256 B)",
              ours: spread(comparisons.map((c) => c.ours.encryptPerS)),
              baseline: spread(comparisons.map((c) => c.baseline.encryptPerS)),
              higherIsBetter: true,
            },
            {
              what: "decrypt, msgs/s (256 B)",
              ours: spread(comparisons.map((c) => c.ours.decryptPerS)),
              baseline: spread(comparisons.map((c) => c.baseline.decryptPerS)),
              higherIsBetter: true,
            },
            {
              what: `add ${c0.ours.added} members, ms`,
              ours: spread(comparisons.map((c) => c.ours.addMs)),
              baseline: spread(comparisons.map((c) => c.baseline.addMs)),
              higherIsBetter: false,
            },
            {
              what: "join from that Welcome, ms",
              ours: spread(comparisons.map((c) => c.ours.joinMs)),
              baseline: spread(comparisons.map((c) => c.baseline.joinMs)),
              higherIsBetter: false,
            },
          ],
        }
      : null,
    baselineNote: list.find((d) => d.baselineNote !== null)?.baselineNote ?? null,
  };
}

/** The line the bench prints after a crypto run. */
export function cryptoLine(d: CryptoData): string {
  const msgs = d.messages.map(
    (m) => `${m.payloadBytes} B enc ${compact(m.encryptPerS)}/s dec ${compact(m.decryptPerS)}/s`,
  );
  const adds = d.adds.map((a) => `add ${a.added} ${ms(a.commitMs)} ms`);
  const groups = d.groups.map((g) => `join@${g.members} ${ms(g.joinMs)} ms state ${kib(g.stateBytes)}`);
  const kp = `${compact(d.keyPackages.perS)} KeyPackages/s${d.keyPackages.bytes ? ` of ${d.keyPackages.bytes} B` : ""}`;
  return [`${d.suite}:`, ...msgs, ...adds, ...groups, kp].join(", ").replace(":,", ":");
}

/** "At a glance" line; empty when there is nothing to say. */
export function cryptoHeadline(a: CryptoAgg | null): string[] {
  if (!a) return [];
  const m = a.messages[0];
  const biggestAdd = a.adds.at(-1);
  const biggestGroup = a.groups.at(-1);
  const parts: string[] = [];
  if (m)
    parts.push(
      `encrypts **${compact(m.encryptPerS.median)} msgs/s** and decrypts **${compact(m.decryptPerS.median)} msgs/s** at ${m.payloadBytes} B`,
    );
  if (biggestAdd)
    parts.push(
      `adding ${biggestAdd.added} members in one Commit takes ${ms(biggestAdd.commitMs.median)} ms ` +
        `(${ms(biggestAdd.processMs.median)} ms for a member to process)`,
    );
  if (biggestGroup)
    parts.push(
      `joining a group of ${biggestGroup.members} from its Welcome ${ms(biggestGroup.joinMs.median)} ms, ` +
        `state ${kib(biggestGroup.stateBytes.median)}`,
    );
  return parts.length > 0 ? [`- **MLS (suite 3, @noble)**: ${parts.join("; ")}.`] : [];
}

export function cryptoSection(
  title: string,
  a: CryptoAgg | null,
  failures: string,
  chart: (name: string, svg: string) => string,
): string[] {
  const out = ["## 5. Crypto (MLS)", ""];
  if (!a) return [...out, `No figures${failures ? `: ${failures}` : ""}.`];
  out.push(
    `${cell(title)}. \`${a.suite}\` on ${a.provider}, timed ${
      a.provider.includes("Chromium")
        ? "in a headless Chromium page served from loopback (no server; the browser's process may run on any core)"
        : "in the benchmark's own process (no server, on the load generator's core, idle at that point)"
    } through \`@parley/crypto\`'s public API: what a client device pays. ${a.runs} repetition${a.runs > 1 ? "s" : ""}.`,
    "",
  );
  if (failures) out.push(`> ${failures}`, "");

  out.push("### Application messages", "");
  out.push(
    "A two-member group: one member encrypts (PrivateMessage), the other decrypts them in order (`processMessage`).",
    "",
  );
  out.push(
    table(
      ["payload", "on the wire", "encrypt msgs/s", "decrypt msgs/s"],
      a.messages.map((m) => [
        `${num(m.payloadBytes)} B`,
        `${num(m.messageBytes)} B`,
        withSpread(m.encryptPerS, compact),
        withSpread(m.decryptPerS, compact),
      ]),
    ),
    "",
  );

  if (a.adds.length > 0) {
    out.push("### Adding members in one Commit", "");
    out.push(
      `A group of ${a.adds[0]?.membersBefore ?? 2}: the creator commits the Adds and merges (\`addMembers\` + ` +
        "`mergePendingCommit`); the other existing member processes that Commit (`processMessage`); the " +
        "delivery service audits it before accepting it (`auditCommit`: signatures, transcript and tree hashes, members).",
      "",
    );
    out.push(
      table(
        [
          "members added",
          "creator: commit ms",
          "existing member: process ms",
          "server: audit ms",
          "Commit",
          "Welcome",
        ],
        a.adds.map((x) => [
          num(x.added),
          withSpread(x.commitMs, ms),
          withSpread(x.processMs, ms),
          x.auditMs.n > 0 ? withSpread(x.auditMs, ms) : "-",
          kib(x.commitBytes),
          kib(x.welcomeBytes),
        ]),
      ),
      "",
    );
  }

  if (a.groups.length > 0) {
    out.push("### Group size: joining and state", "");
    out.push(
      "A newcomer added to a group of N - 1 joins from its Welcome (`joinFromWelcome`, which checks the whole " +
        "ratchet tree) into a group of N. State: `exportGroupState` (secrets included, before encryption at " +
        "rest) of an existing member and of the newcomer; the member's also holds the receiver data of the past " +
        "epochs it retains (two by default), which a newcomer does not have yet.",
      "",
    );
    out.push(
      table(
        ["members", "join from Welcome ms", "Welcome", "state (member)", "state (newcomer)"],
        a.groups.map((g) => [
          num(g.members),
          withSpread(g.joinMs, ms),
          kib(g.welcomeBytes),
          withSpread(g.stateBytes, kib),
          withSpread(g.newcomerStateBytes, kib),
        ]),
      ),
      "",
    );
  }
  out.push(
    `KeyPackages: ${withSpread(a.keyPackagesPerS, (v) => num(v))} per second (one device's batch of ${a.keyPackageBatch}).`,
    "",
  );

  const groups: BarGroup[] = [
    ...a.adds.map((x) => ({
      label: `add ${x.added}`,
      bars: [
        { series: "commit", value: x.commitMs },
        { series: "process", value: x.processMs },
      ],
    })),
    ...a.groups.map((g) => ({
      label: `join, ${g.members} members`,
      bars: [{ series: "join", value: g.joinMs }],
    })),
  ];
  if (groups.length > 0) {
    const file = chart(
      "mls-membership",
      barChart({
        title: "MLS membership operations, ms (lower is better)",
        yLabel: "ms",
        groups,
        seriesLabels: {
          commit: "creator: commit + merge",
          process: "existing member: process the Commit",
          join: "newcomer: join from the Welcome",
        },
      }),
    );
    out.push(`![MLS membership operations](${file})`, "");
  }

  out.push("### Against ts-mls's default provider", "");
  if (!a.comparison) {
    out.push(`No baseline in this run: ${a.baselineNote ?? "not measured"}. The figures above are absolute.`);
    return out;
  }
  const c = a.comparison;
  out.push(
    `The same ts-mls calls with both providers (no Parley wrapper, no encoding). ts-mls's default provider ` +
      "supports suite 3 only with the optional `@hpke/chacha20poly1305` package, which Parley does not " +
      `install, so the baseline is \`${c.baselineSuite}\`: the same X25519, SHA-256 and Ed25519, ` +
      "AES-128-GCM instead of ChaCha20-Poly1305, and WebCrypto (native code: SHA-256, Ed25519, AES-GCM, X25519 " +
      "through @hpke/core; each call an async round trip with a key import) where ours is synchronous pure " +
      "JavaScript that also runs where `crypto.subtle` is missing. " +
      "*Our speed* is ours over the baseline's (rates) or the baseline's time over ours (times): " +
      "below 1× is slower. Each side is measured twice per repetition (ours, baseline, baseline, ours) and " +
      "keeps its better run.",
    "",
  );
  out.push(
    table(
      ["", `ours: ${c.oursProvider}, suite 3`, `baseline: ${c.baselineProvider}, suite 1`, "our speed"],
      c.rows.map((r) => [
        r.what,
        withSpread(r.ours, r.higherIsBetter ? compact : ms),
        withSpread(r.baseline, r.higherIsBetter ? compact : ms),
        times(speedRatio(r.ours.median, r.baseline.median, r.higherIsBetter)),
      ]),
      [0],
    ),
  );
  return out;
}

/** Our speed relative to the baseline's: rates divide as they are, times the other way round. */
export function speedRatio(ours: number, baseline: number, higherIsBetter: boolean): number {
  return higherIsBetter ? ratio(ours, baseline) : ratio(baseline, ours);
}
