import { ratio } from "../measure/stats.js";
import type { BenchResults } from "../results-file.js";
import { isReceiptsCase, RECEIPTS_TAG } from "../scenarios/fanout.js";
import type { RunRecord } from "../scenarios/types.js";
import { TARGETS, type TargetId } from "../targets/target.js";
import { aggregateCase, type PhaseAgg, type TargetAgg, type TrafficAgg } from "./aggregate.js";
import { type BarGroup, barChart } from "./bar-chart.js";
import { type CdfSeries, cdfChart } from "./cdf-chart.js";
import { clusterHeadline, clusterSection } from "./cluster-section.js";
import { aggregateCrypto, cryptoHeadline, cryptoSection } from "./crypto-section.js";
import {
  cap,
  cell,
  compact,
  DASH,
  emptySpread,
  kib,
  mib,
  ms,
  num,
  pct,
  shortCase,
  table,
  times,
  withSpread,
} from "./format.js";
import { undeliveredOf } from "./progress-line.js";
import { aggregateSearch, searchHeadline, searchSection } from "./search-section.js";
import { aggregateWeb, webHeadline, webSection } from "./web-section.js";

/**
 * The Markdown report: what a reader wants first (headline ratios, charts), then a table per
 * scenario with medians and spread, then the machine, the method and the correctness checks.
 */

export interface Report {
  markdown: string;
  charts: { file: string; svg: string }[];
}

/** Foreign CPU on the server's core above this share makes the figures suspect. */
const CONTENDED_SHARE = 0.1;
const REFERENCES: readonly TargetId[] = ["ws-relay", "socketio-relay"];

const label = (t: TargetId) => TARGETS[t].label;

export function buildReport(r: BenchResults): Report {
  const charts: Report["charts"] = [];
  const chart = (name: string, svg: string) => {
    const file = `${r.stamp}-${name}.svg`;
    charts.push({ file, svg });
    return file;
  };
  const byCase = new Map(r.cases.map((c) => [c.id, aggregateCase(r.runs, c.id, c.targets)]));
  const casesOf = (scenario: string) => r.cases.filter((c) => c.scenario === scenario);
  const out: string[] = [];

  out.push(`# Parley benchmark, ${r.stamp} (${r.plan.mode})`, "");
  out.push(
    `${r.plan.repetitions} repetition${r.plan.repetitions > 1 ? "s" : ""} per scenario and server, ` +
      `${r.plan.freshServers ? "each on a freshly started server" : "one server per target for the whole quick run"}; ` +
      "figures are medians with the lowest–highest repetition in small type. " +
      `Ratios are Parley's median over the reference's median in this same run. ` +
      `Raw data: [${r.stamp}.json](${r.stamp}.json). Total runtime ${num(r.runtimeS)} s.`,
    "",
  );
  out.push(...headline(r, byCase), "");
  out.push(...warnings(r, byCase), "");

  // ------------------------------------------------------------------ 1. idle
  const idleCase = casesOf("idle")[0];
  if (idleCase) out.push(...idleSection(byCase.get(idleCase.id) ?? []), "");

  // ------------------------------------------------------------------ 2. fan-out
  const fanoutCases = casesOf("fanout");
  const tlsCase = casesOf("tls")[0];
  if (fanoutCases.length > 0) {
    out.push("## 2. Fan-out at max rate", "");
    out.push(
      `${r.plan.clients} clients in rooms; in every room the members take turns sending, each room keeping a ` +
        "window of messages in flight (a message leaves the window when every other member has it), so the " +
        "offered rate follows what the server carries. Every delivery to every member counts.",
      "",
    );
    const groups: BarGroup[] = fanoutCases.map((c) => ({
      label: fanoutLabel(c.id),
      bars: (byCase.get(c.id) ?? []).map((a) => ({
        series: a.target,
        value: a.traffic?.phases.measure?.deliveriesPerS ?? emptySpread(),
      })),
    }));
    if (tlsCase) {
      groups.push({
        label: `${shortCase(tlsCase.id)} TLS`,
        bars: (byCase.get(tlsCase.id) ?? []).map((a) => ({
          series: a.target,
          value: a.traffic?.phases.measure?.deliveriesPerS ?? emptySpread(),
        })),
      });
    }
    const bars = chart(
      "deliveries",
      barChart({
        title: "Fan-out: deliveries per second (higher is better)",
        yLabel: "deliveries / s",
        groups,
        seriesLabels: Object.fromEntries(Object.values(TARGETS).map((t) => [t.id, t.label])),
      }),
    );
    out.push(`![Deliveries per second per server](${bars})`, "");
    const cpuGroups: BarGroup[] = [...fanoutCases, ...(tlsCase ? [tlsCase] : [])].map((c) => ({
      label: `${fanoutLabel(c.id)}${c.scenario === "tls" ? " TLS" : ""}`,
      bars: (byCase.get(c.id) ?? []).map((a) => ({
        series: a.target,
        value: a.traffic?.cpuUsPerDelivery ?? emptySpread(),
      })),
    }));
    const cpuBars = chart(
      "cpu-per-delivery",
      barChart({
        title: "Fan-out: server CPU per delivery, µs (lower is better)",
        yLabel: "µs of server CPU / delivery",
        groups: cpuGroups,
        seriesLabels: Object.fromEntries(Object.values(TARGETS).map((t) => [t.id, t.label])),
      }),
    );
    out.push(
      "Deliveries per second depend on how much of its core the server got; CPU time per delivery does not, " +
        "so on a shared machine it is the steadier comparison:",
      "",
      `![Server CPU per delivery per server](${cpuBars})`,
      "",
    );
    for (const c of fanoutCases) {
      const aggs = byCase.get(c.id) ?? [];
      out.push(`### ${c.title}`, "");
      out.push(trafficTable(aggs, "measure"), "");
      out.push(ratioLine(aggs, "measure"), "");
      if (isReceiptsCase(c.id)) out.push(receiptsLine(aggs, byCase.get(receiptsTwin(c.id)) ?? []), "");
      const cdf = chart(`cdf-${c.id}`, cdfChart(`Latency CDF: ${c.title}`, cdfSeries(aggs, "measure")));
      out.push(`![Latency CDF](${cdf})`, "");
    }
    if (tlsCase) out.push(...tlsSection(tlsCase.id, byCase), "");
  }

  // ------------------------------------------------------------------ 3. moderate
  const moderateCase = casesOf("moderate")[0];
  if (moderateCase) {
    const aggs = byCase.get(moderateCase.id) ?? [];
    out.push("## 3. Moderate load", "");
    out.push(
      `${moderateCase.title}. Open loop: messages leave on schedule whatever the server does, and latency is ` +
        "measured from the scheduled time, so a stalled server or generator shows up in it.",
      "",
    );
    out.push(trafficTable(aggs, "measure"), "");
    out.push(ratioLine(aggs, "measure"), "");
    const cdf = chart(
      `cdf-${moderateCase.id}`,
      cdfChart(`Latency CDF: ${moderateCase.title}`, cdfSeries(aggs, "measure")),
    );
    out.push(`![Latency CDF, moderate load](${cdf})`, "");
  }

  // ------------------------------------------------------------------ 4. login storm
  const stormCase = casesOf("login-storm")[0];
  if (stormCase) out.push(...stormSection(stormCase, byCase.get(stormCase.id) ?? [], chart), "");

  // ------------------------------------------------------------------ 5. crypto, 6. web
  // One section per MLS suite (suite 3, then X-Wing), side by side in the report.
  for (const [i, cryptoCase] of casesOf("crypto").entries()) {
    const runs = r.runs.filter((x) => x.case === cryptoCase.id);
    // The first suite keeps the chart names reports always had; the others get their own files.
    const named: typeof chart = i === 0 ? chart : (name, svg) => chart(`${name}-${cryptoCase.id}`, svg);
    out.push(...cryptoSection(cryptoCase.title, aggregateCrypto(runs), failedOf(runs), named), "");
  }
  const webCase = casesOf("web")[0];
  if (webCase) {
    const runs = r.runs.filter((x) => x.case === webCase.id);
    out.push(...webSection(webCase.title, aggregateWeb(runs), failedOf(runs)), "");
  }

  // ------------------------------------------------------------------ 7. two nodes
  out.push(...clusterSection(r, byCase, chart), "");

  // ------------------------------------------------------------------ 8. local search
  const searchCase = casesOf("search")[0];
  if (searchCase) {
    const runs = r.runs.filter((x) => x.case === searchCase.id);
    out.push(...searchSection(searchCase.title, aggregateSearch(runs), failedOf(runs)), "");
  }

  // ------------------------------------------------------------------ anything unavailable
  for (const s of r.scenarios) {
    if (s.unavailable) out.push(`## ${s.number}. ${s.title}`, "", `${cap(s.unavailable)}.`, "");
  }

  out.push(...correctness(r, byCase), "");
  out.push(...machineSection(r), "");
  return {
    markdown: `${out
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim()}\n`,
    charts,
  };
}

// -------------------------------------------------------------------- sections

function headline(r: BenchResults, byCase: Map<string, TargetAgg[]>): string[] {
  const lines: string[] = ["## At a glance", ""];
  for (const c of r.cases.filter((x) => x.scenario === "fanout")) {
    const aggs = byCase.get(c.id) ?? [];
    const parley = find(aggs, "parley")?.traffic;
    const p = parley?.phases.measure;
    if (!parley || !p) continue;
    const vs = REFERENCES.map((ref) => {
      const q = find(aggs, ref)?.traffic;
      const qp = q?.phases.measure;
      if (!q || !qp) return null;
      return (
        `${times(ratio(p.deliveriesPerS.median, qp.deliveriesPerS.median))} the deliveries/s of ${label(ref)} ` +
        `at ${times(ratio(parley.cpuUsPerDelivery.median, q.cpuUsPerDelivery.median))} its CPU per delivery`
      );
    }).filter((x) => x !== null);
    lines.push(
      `- **Fan-out, ${shortCase(c.id)}**: Parley relays **${compact(p.deliveriesPerS.median)} deliveries/s** ` +
        `(${num(parley.cpuUsPerDelivery.median, 1)} µs of server CPU each), p99 ${ms(p.p99.median)} ms` +
        `${vs.length > 0 ? `; ${vs.join("; ")}` : ""}.`,
    );
  }
  const mod = r.cases.find((x) => x.scenario === "moderate");
  const modP = mod ? find(byCase.get(mod.id) ?? [], "parley")?.traffic?.phases.measure : undefined;
  if (mod && modP) {
    const refs = REFERENCES.map((ref) => {
      const q = find(byCase.get(mod.id) ?? [], ref)?.traffic?.phases.measure;
      return q ? `${label(ref)} ${ms(q.p99.median)} ms` : null;
    }).filter((x) => x !== null);
    lines.push(
      `- **Moderate load**: Parley p50 ${ms(modP.p50.median)} ms, **p99 ${ms(modP.p99.median)} ms**` +
        `${refs.length > 0 ? ` (p99 of ${refs.join(", ")})` : ""}.`,
    );
  }
  const idle = r.cases.find((x) => x.scenario === "idle");
  if (idle) {
    const aggs = byCase.get(idle.id) ?? [];
    const last = (t: TargetId) => find(aggs, t)?.idle?.steps.at(-1);
    const p = last("parley");
    if (p) {
      const refs = REFERENCES.map((ref) => {
        const q = last(ref);
        return q ? `${label(ref)} ${kib(q.rssPerConnection.median)}` : null;
      }).filter((x) => x !== null);
      lines.push(
        `- **Idle connections**: ${num(p.connected.median)} held, **${kib(p.rssPerConnection.median)} of server RSS each**` +
          `${refs.length > 0 ? ` (${refs.join(", ")})` : ""}.`,
      );
    }
  }
  const storm = r.cases.find((x) => x.scenario === "login-storm");
  const s = storm ? find(byCase.get(storm.id) ?? [], "parley")?.storm : undefined;
  if (s) {
    const calm = s.traffic.phases.calm;
    const during = s.traffic.phases.storm;
    if (calm && during) {
      lines.push(
        `- **Login storm**: chat p99 ${ms(calm.p99.median)} ms calm, **${ms(during.p99.median)} ms** while ` +
          `${s.logins} logins run (they take ${ms(s.loginDurationMs.median)} ms in all).`,
      );
    }
  }
  const runsOf = (scenario: string) => {
    const c = r.cases.find((x) => x.scenario === scenario);
    return c ? r.runs.filter((x) => x.case === c.id) : [];
  };
  lines.push(...clusterHeadline(r, byCase));
  lines.push(...cryptoHeadline(aggregateCrypto(runsOf("crypto"))));
  lines.push(...webHeadline(aggregateWeb(runsOf("web"))));
  lines.push(...searchHeadline(aggregateSearch(runsOf("search"))));
  const undelivered = r.runs.reduce((n, x) => n + undeliveredOf(x), 0);
  lines.push(
    undelivered === 0
      ? "- **Undelivered after drain: 0** in every run."
      : `- **Undelivered after drain: ${num(undelivered)}**: see Correctness.`,
  );
  return lines;
}

function warnings(r: BenchResults, byCase: Map<string, TargetAgg[]>): string[] {
  const out: string[] = [];
  for (const s of r.skippedTargets) out.push(`> **${label(s.target)}**: ${s.reason}`);
  if (!r.cores.pinned)
    out.push(`> Server and generator were **not pinned** to separate cores: ${r.cores.reason}.`);
  const traffic = [...byCase.values()]
    .flat()
    .flatMap((a) => [a.traffic, a.storm?.traffic].filter((t) => !!t));
  const bound = traffic.reduce((n, t) => n + (t?.generatorBoundRuns ?? 0), 0);
  const runs = traffic.reduce((n, t) => n + (t?.runs ?? 0), 0);
  if (bound > 0) {
    out.push(
      `> **Generator-bound**: in ${bound} of ${runs} traffic runs the generator's core was above 85 % busy, so ` +
        "those figures may show the generator's limit rather than the server's (marked ⚠ in the tables; " +
        "the *gen. core* column splits it into the generator's own share and other processes').",
    );
  }
  const foreign = traffic.map((t) => t?.serverCoreForeign.median ?? Number.NaN).filter(Number.isFinite);
  const worst = Math.max(0, ...foreign);
  if (worst > CONTENDED_SHARE || r.machine.loadAtStart > r.machine.logicalCores) {
    out.push(
      `> **Busy machine**: 1-minute load average ${r.machine.loadAtStart.toFixed(1)} at the start` +
        `${r.machine.loadAtEnd !== null ? ` and ${r.machine.loadAtEnd.toFixed(1)} at the end` : ""} on ` +
        `${r.machine.logicalCores} cores; other processes took up to ${pct(worst)} of the server's core during a ` +
        "measurement. Absolute figures are low and noisy; ratios within the run are more robust.",
    );
  }
  return out.length > 0 ? out.flatMap((l) => [l, ""]) : [];
}

function idleSection(aggs: TargetAgg[]): string[] {
  const out = ["## 1. Idle connections", ""];
  out.push(
    "Connections opened (and for Parley authenticated) in steps and then left idle; RSS per connection is the " +
      "server's RSS growth over its empty state divided by the connections held.",
    "",
  );
  const rows: string[][] = [];
  const refAt = (t: TargetId, i: number) => find(aggs, t)?.idle?.steps[i];
  for (const a of aggs) {
    if (!a.idle) {
      rows.push([label(a.target), DASH, DASH, DASH, DASH, DASH, DASH, failed(a)]);
      continue;
    }
    for (const [i, s] of a.idle.steps.entries()) {
      const vs = REFERENCES.map((ref) => {
        const q = refAt(ref, i);
        return a.target === "parley" && q
          ? `${times(ratio(s.rssPerConnection.median, q.rssPerConnection.median))} ${shortRef(ref)}`
          : "";
      }).filter((x) => x !== "");
      const bound = s.generatorBoundRuns > 0 ? ` ⚠ ${s.generatorBoundRuns}/${a.idle.runs}` : "";
      rows.push([
        label(a.target),
        withSpread(s.connected, (v) => num(v)) + (s.failed > 0 ? ` (${num(s.failed)} failed)` : ""),
        withSpread(s.perS, (v) => num(v)),
        `${pct(s.connectServerCpu.median)} / ${pct(s.connectGeneratorCpu.median)}${bound}`,
        withSpread(s.rss, mib),
        withSpread(s.rssPerConnection, kib),
        vs.join(", ") || DASH,
        failed(a),
      ]);
    }
  }
  out.push(
    table(
      [
        "server",
        "connections held",
        "connect rate (conn/s)",
        "CPU while connecting (server / generator)",
        "server RSS",
        "RSS / connection",
        "Parley ratio",
        "notes",
      ],
      rows,
      [0, 7],
    ),
  );
  const note = aggs.find((a) => a.idle?.clampNote)?.idle?.clampNote;
  if (note) out.push("", `Counts were ${note}.`);
  return out;
}

function trafficTable(aggs: TargetAgg[], phase: string): string {
  const rows = aggs.map((a) => {
    const t = a.traffic ?? a.storm?.traffic ?? null;
    const p = t?.phases[phase];
    if (!t || !p) return [label(a.target), ...Array(11).fill(DASH), failed(a)];
    return trafficRow(label(a.target), t, p, failed(a));
  });
  return table(
    [
      "server",
      "deliveries/s",
      "msgs/s",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "max ms",
      "server CPU",
      "CPU µs / delivery",
      "server RSS",
      "loop lag p99 ms",
      "gen. core (own + other)",
      "notes",
    ],
    rows,
    [0, 12],
  );
}

function trafficRow(name: string, t: TrafficAgg, p: PhaseAgg, notes: string): string[] {
  const bound = t.generatorBoundRuns > 0 ? ` ⚠ ${t.generatorBoundRuns}/${t.runs}` : "";
  const other = t.generatorCoreBusy.median - t.generatorCpu.median;
  return [
    name,
    withSpread(p.deliveriesPerS, compact),
    withSpread(p.messagesPerS, compact),
    withSpread(p.p50, ms),
    withSpread(p.p95, ms),
    withSpread(p.p99, ms),
    withSpread(p.max, ms),
    withSpread(t.serverCpu, pct),
    withSpread(t.cpuUsPerDelivery, (v) => num(v, 1)),
    withSpread(t.serverRss, mib),
    withSpread(t.lagP99, ms),
    Number.isFinite(t.generatorCoreBusy.median)
      ? `${pct(t.generatorCoreBusy.median)} (${pct(t.generatorCpu.median)} + ${pct(Math.max(0, other))})${bound}`
      : `${pct(t.generatorCpu.median)}${bound}`,
    notes,
  ];
}

/** "rooms of 10, 256 B", with "+ receipts" for a receipts case. */
function fanoutLabel(id: string): string {
  return `${shortCase(id)}${isReceiptsCase(id) ? " + receipts" : ""}`;
}

/** The plain fan-out case a receipts case is measured beside. */
function receiptsTwin(id: string): string {
  return id.replace(`${RECEIPTS_TAG}-`, "-");
}

/** What receipts cost Parley: its figures with receipts over its figures without, in the same run. */
function receiptsLine(withReceipts: TargetAgg[], plain: TargetAgg[]): string {
  const on = find(withReceipts, "parley")?.traffic;
  const off = find(plain, "parley")?.traffic;
  const a = on?.phases.measure;
  const b = off?.phases.measure;
  if (!on || !off || !a || !b) return "";
  return (
    `**Receipts cost** (Parley with receipts over Parley without, same run): deliveries/s ` +
    `${times(ratio(a.deliveriesPerS.median, b.deliveriesPerS.median))}, CPU per delivery ` +
    `${times(ratio(on.cpuUsPerDelivery.median, off.cpuUsPerDelivery.median))}, p99 ${times(ratio(a.p99.median, b.p99.median))}.`
  );
}

function ratioLine(aggs: TargetAgg[], phase: string): string {
  const p = find(aggs, "parley")?.traffic?.phases[phase];
  if (!p) return "";
  const parts = REFERENCES.flatMap((ref) => {
    const q = find(aggs, ref)?.traffic?.phases[phase];
    if (!q) return [];
    const cpu = ratio(
      find(aggs, "parley")?.traffic?.cpuUsPerDelivery.median ?? Number.NaN,
      find(aggs, ref)?.traffic?.cpuUsPerDelivery.median ?? Number.NaN,
    );
    return [
      `vs ${label(ref)}: deliveries/s ${times(ratio(p.deliveriesPerS.median, q.deliveriesPerS.median))}, ` +
        `CPU per delivery ${times(cpu)}, ` +
        `p50 ${times(ratio(p.p50.median, q.p50.median))}, p99 ${times(ratio(p.p99.median, q.p99.median))}`,
    ];
  });
  return parts.length > 0 ? `**Parley** ${parts.join("; ")}.` : "";
}

function tlsSection(tlsId: string, byCase: Map<string, TargetAgg[]>): string[] {
  const tls = find(byCase.get(tlsId) ?? [], "parley-tls");
  const plain = find(byCase.get(tlsId.replace(/^tls-/, "fanout-")) ?? [], "parley");
  const t = tls?.traffic;
  const p = t?.phases.measure;
  const out = ["### TLS", ""];
  out.push(
    "Every other Parley figure runs with `PARLEY_TLS=off` on loopback (plain ws, like the references). This one " +
      "runs the first fan-out case again over wss:// with the certificate Parley's local CA issued.",
    "",
  );
  if (!t || !p) return [...out, `No TLS figure: ${tls ? failed(tls) : "not run"}.`];
  const rows = [trafficRow("Parley (TLS)", t, p, failed(tls))];
  const q = plain?.traffic?.phases.measure;
  if (plain?.traffic && q) rows.unshift(trafficRow("Parley (plain ws)", plain.traffic, q, failed(plain)));
  out.push(
    table(
      [
        "server",
        "deliveries/s",
        "msgs/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "server CPU",
        "CPU µs / delivery",
        "server RSS",
        "loop lag p99 ms",
        "gen. core (own + other)",
        "notes",
      ],
      rows,
      [0, 12],
    ),
  );
  if (q) {
    out.push(
      "",
      `TLS / plain: deliveries/s ${times(ratio(p.deliveriesPerS.median, q.deliveriesPerS.median))}, ` +
        `CPU per delivery ${times(ratio(t.cpuUsPerDelivery.median, plain?.traffic?.cpuUsPerDelivery.median ?? Number.NaN))}, ` +
        `p99 ${times(ratio(p.p99.median, q.p99.median))}.`,
    );
  }
  return out;
}

function stormSection(
  c: BenchResults["cases"][number],
  aggs: TargetAgg[],
  chart: (name: string, svg: string) => string,
): string[] {
  const out = ["## 4. Login storm during moderate load", "", `${c.title}.`, ""];
  const s = find(aggs, "parley")?.storm;
  if (!s) return [...out, `No figures: ${failed(find(aggs, "parley"))}.`];
  const rows: string[][] = [];
  for (const phase of ["calm", "storm"] as const) {
    const p = s.traffic.phases[phase];
    if (!p) continue;
    rows.push([
      phase === "calm" ? "before the storm" : "during the storm",
      withSpread(p.deliveriesPerS, compact),
      withSpread(p.p50, ms),
      withSpread(p.p95, ms),
      withSpread(p.p99, ms),
      withSpread(p.max, ms),
    ]);
  }
  out.push(table(["chat traffic", "deliveries/s", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows), "");
  const calm = s.traffic.phases.calm;
  const during = s.traffic.phases.storm;
  if (calm && during)
    out.push(`Chat p99 during the storm / before: ${times(ratio(during.p99.median, calm.p99.median))}.`, "");
  out.push(
    table(
      ["logins", "all done in", "logins/s", "median login", "slowest login", "failed"],
      [
        [
          num(s.logins),
          `${withSpread(s.loginDurationMs, ms)} ms`,
          withSpread(s.loginsPerS, (v) => num(v, 1)),
          `${withSpread(s.loginP50Ms, ms)} ms`,
          `${withSpread(s.loginMaxMs, ms)} ms`,
          num(s.loginFailures),
        ],
      ],
    ),
    "",
  );
  const series: CdfSeries[] = [];
  if (calm) series.push({ key: "calm", label: "before the storm", histogram: calm.histogram });
  if (during) series.push({ key: "storm", label: "during the storm", histogram: during.histogram });
  const file = chart(
    `cdf-${c.id}`,
    cdfChart("Latency CDF: chat traffic before and during the login storm", series),
  );
  out.push(`![Latency CDF, login storm](${file})`);
  return out;
}

function correctness(r: BenchResults, byCase: Map<string, TargetAgg[]>): string[] {
  const rows: string[][] = [];
  // Crypto, web and search carry no traffic; their sections report their own failures.
  for (const c of r.cases.filter((x) => !["crypto", "web", "search"].includes(x.scenario))) {
    for (const a of byCase.get(c.id) ?? []) {
      const t = a.traffic ?? a.storm?.traffic;
      if (!t) {
        if (a.idle) {
          const failedConns = a.idle.steps.reduce((n, s) => n + s.failed, 0);
          rows.push([
            c.id,
            label(a.target),
            DASH,
            DASH,
            DASH,
            num(failedConns),
            num(a.idle.lost),
            DASH,
            failed(a),
          ]);
        } else {
          rows.push([c.id, label(a.target), DASH, DASH, DASH, DASH, DASH, DASH, failed(a)]);
        }
        continue;
      }
      const errors = Object.entries(t.errors).map(([k, v]) => `${k} ${v}`);
      rows.push([
        c.id,
        label(a.target),
        t.undelivered === 0 ? "0 ✓" : `**${num(t.undelivered)}**`,
        num(t.unexpected),
        num(t.missingAcks),
        `${num(t.connectFailures + t.joinFailures)}${t.connectRetries > 0 ? ` (${num(t.connectRetries)} retried)` : ""}`,
        num(t.lost),
        errors.length > 0 ? cell(errors.join(", ")) : "0",
        failed(a),
      ]);
    }
  }
  return [
    "## Correctness",
    "",
    "Every message carries its room and sequence number; the generator counts each expected delivery and, after " +
      "sending stops, waits up to 10 s for the rest. *Undelivered* must be 0.",
    "",
    table(
      [
        "case",
        "server",
        "undelivered",
        "unexpected",
        "missing acks",
        "connect/join failures",
        "connections lost",
        "error frames",
        "failed runs",
      ],
      rows,
      [0, 1, 7, 8],
    ),
  ];
}

function machineSection(r: BenchResults): string[] {
  const m = r.machine;
  const rows: string[][] = [
    ["CPU", `${m.cpuModel}, ${m.logicalCores} logical cores${m.virtualized ? " (virtual machine)" : ""}`],
    ["memory", mib(m.memoryBytes)],
    ["OS", m.os],
    ["Node.js", m.node],
    [
      "packages",
      Object.entries(m.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
    ],
    [
      "load average (1 min)",
      `${m.loadAtStart.toFixed(2)} at start${m.loadAtEnd !== null ? `, ${m.loadAtEnd.toFixed(2)} at end` : ""}`,
    ],
    [
      "pinning",
      r.cores.pinned
        ? `server on core ${r.cores.serverCores.join(",")}, load generator (and this orchestrator) on core ${r.cores.generatorCores.join(",")} (taskset)`
        : `none: ${r.cores.reason}`,
    ],
    [
      "load generator",
      `${r.generatorProcesses} process(es), raw \`ws\` clients for Parley and ws-relay, socket.io-client for Socket.IO`,
    ],
    ["open-file limit", `${num(r.generatorOpenFiles)} per generator process`],
    [
      "transport",
      r.cases.some((c) => c.scenario === "tls")
        ? "plain ws on 127.0.0.1 for all three servers; Parley also once over TLS (see 2)"
        : "plain ws on 127.0.0.1 for all three servers (the TLS figure is in the full run only)",
    ],
    [
      "servers",
      r.plan.freshServers
        ? "started afresh for every run, in rotating order"
        : "one per target, kept across the scenarios of this quick run",
    ],
    [
      "registration",
      r.registration
        ? `${num(r.registration.count)} accounts in ${ms(r.registration.durationMs / 1000)} s (${num(r.registration.perS, 1)}/s, argon2id, set-up server on every core)`
        : DASH,
    ],
  ];
  return [
    "## Machine and method",
    "",
    table(["", ""], rows, [0, 1]),
    "",
    "Parley runs from `packages/server/src/main.ts` as an operator would start it, with this benchmark configuration " +
      "(limits raised, no check skipped):",
    "",
    table(
      ["setting", "value", "why"],
      r.parleySettings.map((s) => [`\`${s.env}\``, `\`${s.value}\``, cell(s.why)]),
      [0, 1, 2],
    ),
    "",
    `Reproduce: \`npm run ${r.plan.mode === "quick" ? "bench:quick" : "bench"}\` (see bench/README.md for options).`,
  ];
}

// -------------------------------------------------------------------- helpers

function find(aggs: readonly TargetAgg[], target: TargetId): TargetAgg | undefined {
  return aggs.find((a) => a.target === target);
}

function failed(a: TargetAgg | undefined): string {
  if (!a || a.failedRuns.length === 0) return "";
  return cell(`${a.failedRuns.length} run(s) failed: ${a.failedRuns[0]?.error.split("\n")[0] ?? ""}`);
}

/** "2 run(s) failed: <first error>" for the failed (not skipped) runs, or "". */
function failedOf(runs: readonly RunRecord[]): string {
  const bad = runs.filter((x) => x.error !== null && !x.skipped);
  return bad.length === 0 ? "" : `${bad.length} run(s) failed: ${bad[0]?.error?.split("\n")[0] ?? ""}`;
}

function cdfSeries(aggs: TargetAgg[], phase: string): CdfSeries[] {
  return aggs.flatMap((a) => {
    const p = (a.traffic ?? a.storm?.traffic)?.phases[phase];
    return p ? [{ key: a.target, label: label(a.target), histogram: p.histogram }] : [];
  });
}

function shortRef(t: TargetId): string {
  return t === "ws-relay" ? "ws" : t === "socketio-relay" ? "Socket.IO" : t;
}
