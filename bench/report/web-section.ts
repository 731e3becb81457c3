import { median, percentile, type Spread, spread } from "../measure/stats.js";
import type { RunRecord } from "../scenarios/types.js";
import type {
  AssetKind,
  AssetSize,
  AssetTotals,
  BudgetFigure,
  ColdLoadComparison,
  ColdLoadVariantFigures,
  WebData,
} from "../scenarios/web-data.js";
import { budgetsLine } from "../web/js-budgets.js";
import { cell, kib, ms, num, table, withSpread } from "./format.js";

/**
 * Scenario 6 in the report: bundle sizes (the same build in every repetition: taken from the
 * last run) and the time to a usable sign-in form (median and p95 per run, then median and
 * spread over the runs).
 */

export interface WebAgg {
  runs: number;
  /** The last run's data: build state and sizes. */
  last: WebData;
  /** Every run's data, in order. */
  list: WebData[];
  signInP50: Spread;
  signInP95: Spread;
  domContentLoadedP50: Spread;
  loads: number;
  requests: number;
  blockedRequests: number;
  blockedHosts: string[];
  browser: string | null;
  launchMs: Spread;
  notes: string[];
}

export function aggregateWeb(runs: readonly RunRecord[]): WebAgg | null {
  const list = runs.flatMap((r) => (r.data?.kind === "web" ? [r.data.web] : []));
  const last = list.at(-1);
  if (!last) return null;
  const navs = list.flatMap((d) => (d.navigation ? [d.navigation] : []));
  const notes = [
    ...new Set(
      list.flatMap((d) => [d.navigation?.note ?? null, d.navigationSkipped].filter((n) => n !== null)),
    ),
  ];
  return {
    runs: list.length,
    last,
    list,
    signInP50: spread(navs.map((n) => median(n.signInMs))),
    signInP95: spread(navs.map((n) => percentile(n.signInMs, 95))),
    domContentLoadedP50: spread(navs.map((n) => median(n.domContentLoadedMs))),
    loads: navs.reduce((k, n) => k + n.signInMs.length, 0),
    requests: navs.reduce((k, n) => k + n.requests, 0),
    blockedRequests: navs.reduce((k, n) => k + n.blockedRequests, 0),
    blockedHosts: [...new Set(navs.flatMap((n) => n.blockedHosts))].sort(),
    browser: navs[0]?.browser ?? null,
    launchMs: spread(navs.map((n) => n.launchMs)),
    notes,
  };
}

/** The cold loads of every run, pooled per build (in the order of the first run's variants). */
export function poolColdLoads(
  list: readonly (ColdLoadComparison | null | undefined)[],
): ColdLoadVariantFigures[] {
  const pooled = new Map<string, ColdLoadVariantFigures>();
  for (const c of list) {
    for (const v of c?.variants ?? []) {
      const p = pooled.get(v.label) ?? { label: v.label, signInMs: [], conversationListMs: [] };
      if (v.failed) p.failed = (p.failed ?? 0) + v.failed;
      p.signInMs.push(...v.signInMs);
      p.conversationListMs.push(...v.conversationListMs);
      pooled.set(v.label, p);
    }
  }
  return [...pooled.values()];
}

const loadAvg = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(" ");
const medP95 = (xs: readonly number[]) =>
  xs.length === 0 ? "none" : `${ms(median(xs))} ms median, ${ms(percentile(xs, 95))} ms p95`;

/** What the bench prints after the cold-load comparison: one line per build, then the load average. */
export function coldLoadLines(c: ColdLoadComparison): string[] {
  return [
    ...c.variants.map(
      (v) =>
        `${v.label}: sign-in form ${medP95(v.signInMs)}; conversation list (${c.rooms} rooms) ` +
        `${medP95(v.conversationListMs)}; ${v.conversationListMs.length} cold loads each` +
        (v.failed ? `; ${v.failed} timed out` : ""),
    ),
    `load average ${loadAvg(c.loadAverageBefore)} before, ${loadAvg(c.loadAverageAfter)} after` +
      (c.note ? `; stopped: ${c.note}` : ""),
  ];
}

/** The line the bench prints after a web run. */
export function webLine(d: WebData): string {
  if (!d.sizes) return `not built${d.buildNote ? `: ${d.buildNote}` : ""}`;
  const js = d.sizes.byKind.js;
  const css = d.sizes.byKind.css;
  const sizes =
    `JS ${kib(js.gzipBytes)} gzip (${kib(js.rawBytes)} raw), CSS ${kib(css.gzipBytes)} gzip` +
    (d.budgets ? `; ${budgetsLine(d.budgets)}` : "");
  const n = d.navigation;
  if (!n) return `${sizes}; navigation not measured: ${d.navigationSkipped ?? "?"}`;
  const timing =
    n.signInMs.length > 0
      ? `sign-in form in ${ms(median(n.signInMs))} ms median, ${ms(percentile(n.signInMs, 95))} ms p95 over ${n.signInMs.length} cold loads`
      : "no sign-in form";
  return `${sizes}; ${timing}; ${n.blockedRequests} blocked requests${n.note ? `; ${n.note}` : ""}`;
}

export function webHeadline(a: WebAgg | null): string[] {
  if (!a) return [];
  const sizes = a.last.sizes;
  if (!sizes) return [`- **Web client**: not built${a.last.buildNote ? ` (${a.last.buildNote})` : ""}.`];
  const form =
    a.signInP50.n > 0
      ? `a usable sign-in form **${ms(a.signInP50.median)} ms** after navigation (median, cold, loopback)`
      : `no sign-in form measured (${a.notes[0] ?? "not run"})`;
  return [
    `- **Web client**: **${kib(sizes.byKind.js.gzipBytes)} of JS** and ${kib(sizes.byKind.css.gzipBytes)} of CSS gzipped; ${form}.`,
  ];
}

const KIND_LABEL: Record<AssetKind, string> = { js: "JavaScript", css: "CSS", html: "HTML", other: "other" };

export function webSection(title: string, a: WebAgg | null, failures: string): string[] {
  const out = ["## 6. Web client", ""];
  if (!a) return [...out, `No figures${failures ? `: ${failures}` : ""}.`];
  out.push(`${cell(title)}.`, "");
  if (failures) out.push(`> ${failures}`, "");
  const d = a.last;
  if (!d.sizes) {
    out.push(`**Not built**${d.buildNote ? `: ${cell(d.buildNote)}` : ""}. No sizes and no page loads.`);
    return out;
  }
  out.push("### Download size", "");
  out.push(
    `packages/web/dist${d.build === "built now" ? `, built by this run in ${num((d.buildMs ?? 0) / 1000, 1)} s` : ""}` +
      `${d.distTime ? ` (newest file ${d.distTime.slice(0, 19).replace("T", " ")} UTC)` : ""}; ` +
      "gzip at level 9 and brotli at quality 11 (node:zlib), as a server compressing at its best would send it.",
    "",
  );
  const kinds: AssetKind[] = ["js", "css", "html", "other"];
  const rows = kinds
    .filter((k) => d.sizes?.byKind[k].files)
    .map((k) => totalsRow(KIND_LABEL[k], d.sizes?.byKind[k] as AssetTotals));
  rows.push(totalsRow("**all**", sumTotals(kinds.map((k) => d.sizes?.byKind[k] as AssetTotals)), true));
  out.push(table(["", "files", "raw", "gzip -9", "brotli 11"], rows), "");
  if (d.budgets) {
    const row = (name: string, f: BudgetFigure | null) =>
      f === null
        ? [name, "-", "-", "no chunk found"]
        : [name, kib(f.gzipBytes), kib(f.budgetBytes), f.gzipBytes <= f.budgetBytes ? "within" : "**over**"];
    out.push(
      table(
        ["JavaScript budget", "gzip -9", "budget", ""],
        [
          row("first screen (index.html's scripts and their imports)", d.budgets.firstScreen),
          row("password checker (lazy, beyond the first screen)", d.budgets.passwordChecker),
        ],
      ),
      "",
    );
  }
  const biggest = largestFiles(d.sizes.files, 5);
  if (biggest.length > 0) {
    out.push(
      table(
        ["largest files", "raw", "gzip -9", "brotli 11"],
        biggest.map((f) => [`\`${cell(f.path)}\``, kib(f.rawBytes), kib(f.gzipBytes), kib(f.brotliBytes)]),
      ),
      "",
    );
  }

  out.push("### Navigation to a usable sign-in form", "");
  out.push(
    "Headless Chromium (Debian's, driven by playwright-core; on the load generator's core when the run is " +
      "pinned) loads Parley's `/` over plain HTTP on 127.0.0.1, " +
      "each time in a fresh browser context (empty cache), and the clock stops when the textbox labelled " +
      '"Username" is visible and enabled. Any request to another host is aborted and counted.',
    "",
  );
  if (a.signInP50.n === 0) {
    out.push(`No load reached a sign-in form: ${a.notes.map(cell).join("; ") || "not run"}.`);
    out.push(...coldLoadSection(a));
    return out;
  }
  out.push(
    table(
      [
        "browser",
        "cold loads",
        "sign-in form, median ms",
        "sign-in form, p95 ms",
        "DOMContentLoaded, median ms",
        "requests",
        "blocked requests",
      ],
      [
        [
          cell(a.browser ?? "?"),
          num(a.loads),
          withSpread(a.signInP50, ms),
          withSpread(a.signInP95, ms),
          withSpread(a.domContentLoadedP50, ms),
          num(a.requests),
          a.blockedRequests === 0
            ? "0 ✓"
            : `**${num(a.blockedRequests)}** (${cell(a.blockedHosts.join(", "))})`,
        ],
      ],
      [0],
    ),
    "",
  );
  out.push(
    `Medians and p95 are per run, then the median over ${a.runs} run${a.runs > 1 ? "s" : ""} with the lowest–highest. ` +
      `Browser start-up (${ms(a.launchMs.median)} ms) is not included.`,
  );
  if (a.notes.length > 0) out.push("", `Notes: ${a.notes.map(cell).join("; ")}.`);
  out.push(...coldLoadSection(a));
  return out;
}

function coldLoadSection(a: WebAgg): string[] {
  const runs = a.list.flatMap((d) => (d.coldLoads ? [d.coldLoads] : []));
  const skipped = [...new Set(a.list.flatMap((d) => (d.coldLoadsSkipped ? [d.coldLoadsSkipped] : [])))];
  const out = ["", "### Cold loads: sign-in form and conversation list", ""];
  if (runs.length === 0)
    return [...out, `Not measured${skipped.length ? `: ${skipped.map(cell).join("; ")}` : ""}.`];
  const first = runs[0] as ColdLoadComparison;
  out.push(
    `Headless Chromium at ${first.viewport}, a fresh browser for every load. Sign-in form: an empty context, ` +
      "navigation start to an enabled Username textbox. Conversation list: a profile signed in as a person " +
      `with ${first.rooms} rooms (made through the build's own pages), its HTTP, code and service-worker ` +
      "caches removed before each load, navigation start to every room listed and enabled. With " +
      "--web-baseline, the baseline build is served by its own Parley server and loaded in alternation " +
      "with this one, round by round.",
    "",
  );
  out.push(
    table(
      [
        "build",
        "loads",
        "timed out",
        "sign-in form, median ms",
        "p95 ms",
        "conversation list, median ms",
        "p95 ms",
      ],
      poolColdLoads(runs).map((v) => [
        cell(v.label),
        num(v.conversationListMs.length),
        num(v.failed ?? 0),
        v.signInMs.length ? ms(median(v.signInMs)) : "-",
        v.signInMs.length ? ms(percentile(v.signInMs, 95)) : "-",
        v.conversationListMs.length ? ms(median(v.conversationListMs)) : "-",
        v.conversationListMs.length ? ms(percentile(v.conversationListMs, 95)) : "-",
      ]),
      [0],
    ),
    "",
  );
  out.push(
    `Load average (1, 5, 15 min): ${runs.map((r) => `${loadAvg(r.loadAverageBefore)} → ${loadAvg(r.loadAverageAfter)}`).join("; ")}.`,
  );
  const notes = runs.flatMap((r) => (r.note ? [r.note] : []));
  if (notes.length > 0) out.push("", `Stopped short: ${notes.map(cell).join("; ")}.`);
  return out;
}

function totalsRow(label: string, t: AssetTotals, bold = false): string[] {
  const b = (s: string) => (bold ? `**${s}**` : s);
  return [label, num(t.files), b(kib(t.rawBytes)), b(kib(t.gzipBytes)), b(kib(t.brotliBytes))];
}

export function sumTotals(list: readonly AssetTotals[]): AssetTotals {
  return list.reduce(
    (s, t) => ({
      files: s.files + t.files,
      rawBytes: s.rawBytes + t.rawBytes,
      gzipBytes: s.gzipBytes + t.gzipBytes,
      brotliBytes: s.brotliBytes + t.brotliBytes,
    }),
    { files: 0, rawBytes: 0, gzipBytes: 0, brotliBytes: 0 },
  );
}

function largestFiles(files: readonly AssetSize[], n: number): AssetSize[] {
  return [...files].sort((x, y) => y.rawBytes - x.rawBytes).slice(0, n);
}
