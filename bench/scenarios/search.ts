import { type ChatMessage, HISTORY_LIMIT, searchMessages } from "@parley/client";
import type { BenchPlan } from "../plan.js";
import type { SearchData, SearchQueryFigures } from "./search-data.js";
import type { Scenario } from "./types.js";

/** The history searched: 100 conversations of HISTORY_LIMIT (1,000) messages, as a device keeps them. */
const MESSAGES = 100_000;
/** Searches again per query after the first, for the warm figures. */
const REPEATS = { full: 30, quick: 5 } as const;
/** Words the generated messages are made of; a small vocabulary gives common words many hits. */
const VOCABULARY = 2_000;

/**
 * Scenario 8, local search (CHAT-6): the time to the first result of a search over a device's
 * whole history, 100,000 generated messages in 100 conversations, in this process (the SDK's
 * searchMessages, which ChatModel.search calls; the same code runs in the browser and the
 * terminal client). Queries: a common word (hits among the newest), two words together, a word
 * in only the oldest message (every message read before the first hit) and a word in none.
 * The first search of a session also folds every text (case and accents); later ones reuse it.
 */
export const search: Scenario = {
  id: "search",
  number: 8,
  title: "Local search: time to first result over a 100k-message history",
  cases: (plan) => [
    {
      scenario: "search",
      id: "search",
      title: `search ${MESSAGES.toLocaleString("en-US")} messages on this device, ${REPEATS[plan.mode]} warm repeats per query`,
      targets: ["parley"],
      inProcess: true,
      run: async (ctx) => {
        const data = runSearch(ctx.plan);
        for (const q of data.queries)
          ctx.log(`    ${q.what}: cold ${q.coldMs.toFixed(1)} ms, ${q.hits} hits`);
        return { kind: "search", search: data };
      },
    },
  ],
};

/** A deterministic generator (mulberry32), so every run searches the same history. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The generated history: words "w0".."w1999" (some accented), 3-25 per message, one rare word in the oldest. */
export function generateHistory(messages: number): Record<string, ChatMessage[]> {
  const rand = random(20);
  const words = Array.from({ length: VOCABULARY }, (_, i) => (i % 7 === 0 ? `café${i}` : `word${i}`));
  // Zipf-like: low indices are common.
  const word = () => words[Math.floor(VOCABULARY * rand() ** 3)]!;
  const rooms = Math.ceil(messages / HISTORY_LIMIT);
  const out: Record<string, ChatMessage[]> = {};
  const start = Date.UTC(2026, 0, 1);
  let n = 0;
  for (let r = 0; r < rooms; r++) {
    const roomId = `ROOM${String(r).padStart(2, "0")}`;
    const list: ChatMessage[] = [];
    for (let i = 0; i < HISTORY_LIMIT && n < messages; i++, n++) {
      const length = 3 + Math.floor(rand() * 23);
      const text = Array.from({ length }, word).join(" ");
      const from = `user${Math.floor(rand() * 20)}`;
      list.push({
        key: n.toString(16).padStart(32, "0"),
        roomId,
        fromId: from,
        fromName: from,
        ts: start + n * 1_000 + r,
        text: r === 0 && i === 0 ? `${text} needleinthehaystack` : text,
        own: false,
      });
    }
    out[roomId] = list;
  }
  return out;
}

const QUERIES: readonly { what: string; query: string }[] = [
  { what: "a common word (hits among the newest)", query: "word1" },
  { what: "two words, any case or accent", query: "CAFE0 Word3" },
  { what: "a word only in the oldest message", query: "needleinthehaystack" },
  { what: "a word in no message", query: "nowhere" },
];

function runSearch(plan: BenchPlan): SearchData {
  const t0 = performance.now();
  const history = generateHistory(MESSAGES);
  const generateMs = performance.now() - t0;
  const queries: SearchQueryFigures[] = [];
  for (const [i, { what, query }] of QUERIES.entries()) {
    // Cold: a fresh copy of every message, so no folded text is cached (a new session).
    const fresh = i === 0 ? history : copy(history);
    let start = performance.now();
    const hits = searchMessages(fresh, query).length;
    const coldMs = performance.now() - start;
    const warmMs: number[] = [];
    for (let k = 0; k < REPEATS[plan.mode]; k++) {
      start = performance.now();
      searchMessages(fresh, query);
      warmMs.push(performance.now() - start);
    }
    queries.push({ what, query, hits, coldMs, warmMs });
  }
  return {
    messages: MESSAGES,
    conversations: Object.keys(history).length,
    generateMs,
    queries,
  };
}

function copy(history: Record<string, ChatMessage[]>): Record<string, ChatMessage[]> {
  return Object.fromEntries(Object.entries(history).map(([k, list]) => [k, list.map((m) => ({ ...m }))]));
}
