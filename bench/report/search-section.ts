import { median, percentile, type Spread, spread } from "../measure/stats.js";
import type { SearchData } from "../scenarios/search-data.js";
import type { RunRecord } from "../scenarios/types.js";
import { cell, ms, table, withSpread } from "./format.js";

/**
 * Scenario 8 in the report: per query, the time to the first result of the first search of a
 * session (cold) and of later ones (warm, median and p95 per run), then median and spread over
 * the runs.
 */

export interface SearchQueryAgg {
  what: string;
  query: string;
  hits: number;
  cold: Spread;
  warmP50: Spread;
  warmP95: Spread;
}

export interface SearchAgg {
  runs: number;
  messages: number;
  conversations: number;
  queries: SearchQueryAgg[];
}

export function aggregateSearch(runs: readonly RunRecord[]): SearchAgg | null {
  const list = runs.flatMap((r) => (r.data?.kind === "search" ? [r.data.search] : []));
  const first = list[0];
  if (!first) return null;
  return {
    runs: list.length,
    messages: first.messages,
    conversations: first.conversations,
    queries: first.queries.map((q, i) => {
      const same = list.flatMap((d) => (d.queries[i] ? [d.queries[i]] : []));
      return {
        what: q.what,
        query: q.query,
        hits: q.hits,
        cold: spread(same.map((x) => x.coldMs)),
        warmP50: spread(same.map((x) => median(x.warmMs))),
        warmP95: spread(same.map((x) => percentile(x.warmMs, 95))),
      };
    }),
  };
}

/** The line the bench prints after a search run. */
export function searchLine(d: SearchData): string {
  return d.queries
    .map((q) => `${q.query}: ${ms(q.coldMs)} ms cold, ${ms(median(q.warmMs))} ms warm, ${q.hits} hits`)
    .join("; ");
}

/** `failed` says which runs failed ("" when none did). */
export function searchSection(title: string, a: SearchAgg | null, failed: string): string[] {
  const out = [`## 8. ${title}`, ""];
  if (!a) return [...out, failed !== "" ? failed : "Not run.", ""];
  out.push(
    `${a.messages.toLocaleString("en-US")} generated messages in ${a.conversations} conversations, searched in ` +
      "this process with the SDK's `searchMessages` (what `ChatModel.search` runs in both clients). The SDK " +
      "returns a page of up to 50 hits at once, so the time to the first result is the time of the call. " +
      "Cold: the first search of a session, which also folds every text for case and accents; warm: later ones.",
    "",
    table(
      ["query", "what", "hits", "first search, ms", "later, median ms", "later, p95 ms"],
      a.queries.map((q) => [
        `\`${cell(q.query)}\``,
        cell(q.what),
        String(q.hits),
        withSpread(q.cold, ms),
        withSpread(q.warmP50, ms),
        withSpread(q.warmP95, ms),
      ]),
      [0, 1],
    ),
  );
  if (failed !== "") out.push("", failed);
  return out;
}

export function searchHeadline(a: SearchAgg | null): string[] {
  if (!a) return [];
  const worst = Math.max(...a.queries.map((q) => q.cold.median));
  return [
    `- **Local search**: first result over ${a.messages.toLocaleString("en-US")} messages in **${ms(worst)} ms** at worst (a session's first search; later ones faster).`,
  ];
}
