import { ratio, type Spread, spread } from "../measure/stats.js";
import type { BenchResults } from "../results-file.js";
import type { TrafficData } from "../scenarios/types.js";
import { TARGETS, type TargetId } from "../targets/target.js";
import type { TargetAgg } from "./aggregate.js";
import { type BarGroup, barChart } from "./bar-chart.js";
import {
  cap,
  cell,
  compact,
  DASH,
  emptySpread,
  mib,
  ms,
  num,
  pct,
  shortCase,
  table,
  times,
  withSpread,
} from "./format.js";

/**
 * Scenario 7 in the report: two Parley nodes on PostgreSQL + Redis beside one node on the same
 * services and beside the fan-out scenario's single node on SQLite and the in-memory bus, for
 * the same traffic (clients, room size, payload, window).
 */

/** The rows of a multi-node case, in the order the report shows them. */
const ROWS = [
  { target: "parley", label: "1 node, SQLite + in-memory bus (scenario 2)" },
  { target: "parley-redis", label: "1 node, PostgreSQL + Redis" },
  { target: "parley-cluster", label: "2 nodes, PostgreSQL + Redis" },
] as const satisfies readonly { target: TargetId; label: string }[];

export interface ClusterRow {
  target: TargetId;
  label: string;
  agg: TargetAgg | undefined;
  /** Per node of a multi-node target: CPU share and peak RSS over the repetitions. */
  nodes: { cpu: Spread; rss: Spread }[];
  redisCpu: Spread | null;
}

/** The fan-out case with the same room size and payload as a multi-node case. */
export function fanoutTwin(clusterCaseId: string): string {
  return clusterCaseId.replace(/^cluster-/, "fanout-");
}

/** A multi-node case's rows: the SQLite figure from the fan-out case, the others from its own. */
export function clusterRows(r: BenchResults, caseId: string, byCase: Map<string, TargetAgg[]>): ClusterRow[] {
  return ROWS.map(({ target, label }) => {
    const id = target === "parley" ? fanoutTwin(caseId) : caseId;
    const traffic = r.runs.flatMap((x) =>
      x.case === id && x.target === target && x.data?.kind === "traffic" ? [x.data.traffic] : [],
    );
    return {
      target,
      label,
      agg: byCase.get(id)?.find((a) => a.target === target),
      nodes: nodeSpreads(traffic),
      redisCpu: redisSpread(traffic),
    };
  });
}

export function clusterHeadline(r: BenchResults, byCase: Map<string, TargetAgg[]>): string[] {
  return r.cases
    .filter((c) => c.scenario === "cluster")
    .flatMap((c) => {
      const [sqlite, single, two] = clusterRows(r, c.id, byCase).map((x) => x.agg?.traffic);
      const p = two?.phases.measure;
      if (!two || !p) return [];
      const vs = [
        [single, "1 node on the same services"],
        [sqlite, "1 node on SQLite"],
      ] as const;
      const parts = vs.flatMap(([t, what]) => {
        const q = t?.phases.measure;
        return t && q
          ? [`${times(ratio(p.deliveriesPerS.median, q.deliveriesPerS.median))} the deliveries/s of ${what}`]
          : [];
      });
      return [
        `- **Two nodes, ${shortCase(c.id)}** (PostgreSQL + Redis, half of each room on each node): ` +
          `**${compact(p.deliveriesPerS.median)} deliveries/s** (${num(two.cpuUsPerDelivery.median, 1)} µs of ` +
          `the nodes' CPU each), p99 ${ms(p.p99.median)} ms${parts.length > 0 ? `; ${parts.join(", ")}` : ""}.`,
      ];
    });
}

export function clusterSection(
  r: BenchResults,
  byCase: Map<string, TargetAgg[]>,
  chart: (name: string, svg: string) => string,
): string[] {
  const cases = r.cases.filter((c) => c.scenario === "cluster");
  if (cases.length === 0) return [];
  const out = ["## 7. Fan-out across two nodes (PostgreSQL + Redis)", ""];
  out.push(
    "The fan-out traffic of scenario 2 (same clients, room sizes, payload and window) against two Parley " +
      "servers that share one PostgreSQL schema and one Redis (under a key prefix of the run's own). The members of each room alternate " +
      "between node A and node B, and members take turns sending, so every message reaches about half its " +
      "recipients on the other node, through Redis. Beside it, in the same run: one node on the same services " +
      "(every message still goes through Redis's fan-out script) and the single node of scenario 2 (SQLite, " +
      "in-memory bus). *CPU µs / delivery* sums the nodes' CPU; Redis's own CPU is a column of its own.",
    "",
  );
  const unavailable = r.cluster?.unavailable;
  if (unavailable) return [...out, `${cap(unavailable)}.`];
  out.push(...placement(r), "");
  const rowsOf = new Map(cases.map((c) => [c.id, clusterRows(r, c.id, byCase)]));
  const bars = (name: string, title: string, yLabel: string, value: (a: TargetAgg | undefined) => Spread) =>
    chart(
      name,
      barChart({
        title,
        yLabel,
        groups: cases.map(
          (c): BarGroup => ({
            label: shortCase(c.id),
            bars: (rowsOf.get(c.id) ?? []).map((x) => ({ series: x.target, value: value(x.agg) })),
          }),
        ),
        seriesLabels: Object.fromEntries(ROWS.map((x) => [x.target, x.label])),
      }),
    );
  const deliveries = bars(
    "cluster-deliveries",
    "Two nodes: deliveries per second (higher is better)",
    "deliveries / s",
    (a) => a?.traffic?.phases.measure?.deliveriesPerS ?? emptySpread(),
  );
  const cpu = bars(
    "cluster-cpu-per-delivery",
    "Two nodes: server CPU per delivery, µs (lower is better)",
    "µs of server CPU / delivery",
    (a) => a?.traffic?.cpuUsPerDelivery ?? emptySpread(),
  );
  out.push(`![Deliveries per second, one and two nodes](${deliveries})`, "");
  out.push(`![Server CPU per delivery, one and two nodes](${cpu})`, "");
  for (const c of cases) {
    const rows = rowsOf.get(c.id) ?? [];
    out.push(`### ${c.title}`, "", clusterTable(rows), "");
    const line = ratioLine(rows);
    if (line) out.push(line, "");
  }
  return out;
}

export function clusterTable(rows: readonly ClusterRow[]): string {
  return table(
    [
      "server",
      "deliveries/s",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "max ms",
      "server CPU (A / B)",
      "server RSS (A / B)",
      "CPU µs / delivery",
      "Redis CPU",
      "notes",
    ],
    rows.map((x) => {
      const t = x.agg?.traffic;
      const p = t?.phases.measure;
      if (!t || !p) return [x.label, ...Array(9).fill(DASH), notes(x.agg, x.target)];
      const split = (f: (n: ClusterRow["nodes"][number]) => Spread, fmt: (v: number) => string) =>
        x.nodes.length > 1 ? ` (${x.nodes.map((n) => fmt(f(n).median)).join(" / ")})` : "";
      return [
        x.label,
        withSpread(p.deliveriesPerS, compact),
        withSpread(p.p50, ms),
        withSpread(p.p95, ms),
        withSpread(p.p99, ms),
        withSpread(p.max, ms),
        withSpread(t.serverCpu, pct) + split((n) => n.cpu, pct),
        withSpread(t.serverRss, mib) + split((n) => n.rss, mib),
        withSpread(t.cpuUsPerDelivery, (v) => num(v, 1)),
        x.redisCpu ? withSpread(x.redisCpu, pct) : DASH,
        notes(x.agg, x.target),
      ];
    }),
    [0, 10],
  );
}

function ratioLine(rows: readonly ClusterRow[]): string {
  const [sqlite, single, two] = rows.map((x) => x.agg?.traffic);
  const p = two?.phases.measure;
  if (!two || !p) return "";
  const parts = [
    [single, "1 node on PostgreSQL + Redis"],
    [sqlite, "1 node on SQLite"],
  ].flatMap(([t, what]) => {
    const tt = t as typeof two | undefined;
    const q = tt?.phases.measure;
    if (!tt || !q) return [];
    return [
      `vs ${what as string}: deliveries/s ${times(ratio(p.deliveriesPerS.median, q.deliveriesPerS.median))}, ` +
        `CPU per delivery ${times(ratio(two.cpuUsPerDelivery.median, tt.cpuUsPerDelivery.median))}, ` +
        `p50 ${times(ratio(p.p50.median, q.p50.median))}, p99 ${times(ratio(p.p99.median, q.p99.median))}`,
    ];
  });
  return parts.length > 0 ? `**2 nodes** ${parts.join("; ")}.` : "";
}

function placement(r: BenchResults): string[] {
  const c = r.cores;
  const where = c.pinned
    ? `Both nodes run on core ${c.serverCores.join(",")} (\`taskset\`), the core every server of this run gets, ` +
      `sharing it as the single node does not; the load generator and this orchestrator run on core ` +
      `${c.generatorCores.join(",")}. With ${r.machine.logicalCores} cores there is no room for a core per node ` +
      "as well as one for the generator, so the two nodes together have the single node's CPU: the comparison " +
      "is of what the cross-node path costs, not of what a second machine adds."
    : `Nothing is pinned (${c.reason}): the nodes, the generator and this orchestrator share every core.`;
  const services =
    "PostgreSQL and Redis are the machine's own services, not started or pinned by the run: they run wherever " +
    `the kernel puts them, so their CPU shows on the nodes' core as other processes' time${
      r.cluster?.unavailable === null && !r.cluster.redisCpuMeasured
        ? ""
        : " (Redis's is measured: the *Redis CPU* column)"
    }.`;
  const lines = [`**Placement.** ${where} ${services}`];
  if (r.cluster && r.cluster.unavailable === null) {
    lines.push(
      "",
      table(
        ["service", "used"],
        [
          ["PostgreSQL", cell(r.cluster.database)],
          ["Redis", cell(r.cluster.redis)],
          [
            "accounts",
            r.cluster.registration
              ? `${num(r.cluster.registration.count)} registered in that schema, ${ms(r.cluster.registration.durationMs / 1000)} s`
              : DASH,
          ],
        ],
        [0, 1],
      ),
    );
  }
  return lines;
}

function nodeSpreads(list: readonly TrafficData[]): ClusterRow["nodes"] {
  const count = Math.max(0, ...list.map((t) => t.resources.nodes?.length ?? 0));
  return Array.from({ length: count }, (_, i) => ({
    cpu: spread(list.map((t) => t.resources.nodes?.[i]?.cpu ?? Number.NaN)),
    rss: spread(list.map((t) => t.resources.nodes?.[i]?.peakRssBytes ?? Number.NaN)),
  }));
}

function redisSpread(list: readonly TrafficData[]): Spread | null {
  const values = list.flatMap((t) =>
    t.resources.services?.redis !== undefined ? [t.resources.services.redis] : [],
  );
  return values.length > 0 ? spread(values) : null;
}

function notes(a: TargetAgg | undefined, target: TargetId): string {
  if (!a) return target === "parley" ? "fan-out scenario not run" : "not run";
  const bound =
    a.traffic && a.traffic.generatorBoundRuns > 0
      ? `⚠ ${a.traffic.generatorBoundRuns}/${a.traffic.runs}`
      : "";
  const failed =
    a.failedRuns.length > 0
      ? `${a.failedRuns.length} run(s) failed: ${a.failedRuns[0]?.error.split("\n")[0] ?? ""}`
      : "";
  return cell(
    [bound, failed].filter((x) => x !== "").join(", ") ||
      (a.traffic ? "" : `${TARGETS[target].label}: no figures`),
  );
}
