import assert from "node:assert/strict";
import { test } from "node:test";
import { searchMessages } from "@parley/client";
import { generateHistory } from "../scenarios/search.js";
import type { SearchData } from "../scenarios/search-data.js";
import type { RunRecord } from "../scenarios/types.js";
import { aggregateSearch, searchHeadline, searchLine, searchSection } from "./search-section.js";

const data = (coldMs: number): SearchData => ({
  messages: 100_000,
  conversations: 100,
  generateMs: 900,
  queries: [
    { what: "a common word", query: "word1", hits: 50, coldMs, warmMs: [2, 3, 4] },
    { what: "a word in no message", query: "nowhere", hits: 0, coldMs: coldMs * 2, warmMs: [9, 10, 11] },
  ],
});
const run = (d: SearchData | null, error: string | null = null): RunRecord => ({
  case: "search",
  scenario: "search",
  target: "parley",
  rep: 0,
  startedAt: "2026-12-07T00:00:00.000Z",
  serverStartMs: 0,
  data: d === null ? null : { kind: "search", search: d },
  error,
  skipped: false,
});

test("reports each query's first and later searches, with the spread over runs", () => {
  const a = aggregateSearch([run(data(40)), run(data(60))]);
  assert.ok(a);
  assert.equal(a.runs, 2);
  assert.equal(a.queries[0]?.cold.median, 50);
  assert.equal(a.queries[1]?.warmP50.median, 10);
  const section = searchSection("Local search", a, "").join("\n");
  assert.match(section, /^## 8\. Local search/);
  assert.match(section, /\| `nowhere` \| a word in no message \| 0 \|/);
  assert.match(searchHeadline(a)[0] ?? "", /first result over 100,000 messages in \*\*100/);
  assert.match(searchLine(data(40)), /^word1: 40(\.0)? ms cold/);
});

test("says a failed run, and nothing when there is no run", () => {
  assert.equal(aggregateSearch([run(null, "boom")]), null);
  assert.match(searchSection("Local search", null, "1 run(s) failed: boom").join("\n"), /failed: boom/);
  assert.deepEqual(searchHeadline(null), []);
});

test("generates the same history every time, with the rare word only in the oldest message", () => {
  const a = generateHistory(2_000);
  const b = generateHistory(2_000);
  assert.deepEqual(a, b);
  assert.equal(Object.values(a).flat().length, 2_000);
  const hits = searchMessages(a, "needleinthehaystack");
  assert.equal(hits.length, 1);
  assert.equal(hits[0]?.key, "0".repeat(32));
});
