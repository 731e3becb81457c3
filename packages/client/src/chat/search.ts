/** CHAT-6: search over the messages this device holds (the server has nothing to search). Pure. */
import type { ChatMessage } from "./types.js";

export interface SearchOptions {
  /** Only this conversation; default every conversation. */
  roomId?: string;
  /** At most this many hits; default 50. */
  limit?: number;
}

/** The most hits a search returns by default. */
export const SEARCH_LIMIT = 50;

/**
 * One conversation's texts as searched, worked out once per list (the model's lists are
 * immutable: a new message makes a new list): every text folded and joined by newlines, with
 * where each starts, so a word is found with the platform's string search over the whole
 * conversation instead of message by message. A query word holds no whitespace, so a match
 * never spans two messages.
 */
interface RoomIndex {
  readonly text: string;
  /** Where message i's text starts in `text`. */
  readonly starts: readonly number[];
}

const indexes = new WeakMap<readonly ChatMessage[], RoomIndex>();

/** Case and accents do not count: "Cafe" finds "café". */
export function fold(text: string): string {
  // Most texts are ASCII (tab and up): lower case is all they need, and normalising is the
  // costly part. Rarer control characters take the long way, which gives the same result.
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  return text.normalize("NFKD").replace(COMBINING, "").toLowerCase();
}

/** The combining diacritical marks NFKD splits off Latin, Greek and Cyrillic letters. */
const COMBINING = /[\u0300-\u036f]/g;

const NON_ASCII = /[^\t-\u007f]/;

function indexOf(list: readonly ChatMessage[]): RoomIndex {
  let index = indexes.get(list);
  if (index === undefined) {
    const starts: number[] = [];
    const parts: string[] = [];
    let at = 0;
    for (const m of list) {
      // System lines and deleted messages are not searched.
      const f = m.system === true || m.deleted === true ? "" : fold(m.text);
      starts.push(at);
      parts.push(f);
      at += f.length + 1;
    }
    index = { text: parts.join("\n"), starts };
    indexes.set(list, index);
  }
  return index;
}

/**
 * Works out a conversation's search index ahead of the first search (the model does this for
 * each conversation in the background after restoring the history), so that search reads
 * rather than folds.
 */
export function prepareSearch(list: readonly ChatMessage[]): void {
  indexOf(list);
}

/** The message whose text holds position `pos` (the last start at or before it). */
function messageAt(starts: readonly number[], pos: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The words of a query, folded; empty when it has none. */
export function queryWords(query: string): string[] {
  return fold(query)
    .split(/\s+/)
    .filter((w) => w !== "");
}

/**
 * Messages whose text holds every word of `query` (anywhere, as part of a word too), newest
 * first. System lines and deleted messages are not searched; an edited message is found by its
 * latest text only.
 */
export function searchMessages(
  messages: Readonly<Record<string, readonly ChatMessage[]>>,
  query: string,
  options: SearchOptions = {},
): ChatMessage[] {
  const words = queryWords(query);
  const limit = options.limit ?? SEARCH_LIMIT;
  if (words.length === 0 || limit <= 0) return [];
  // The longest word is likely the rarest: it is the one looked for, the others checked.
  const [first, ...rest] = [...words].sort((a, b) => b.length - a.length) as [string, ...string[]];
  // Conversations with the newest messages first: once `limit` hits are kept, one whose newest
  // message is older than the oldest hit cannot add any, and is never read (nor indexed).
  const rooms = (options.roomId !== undefined ? [options.roomId] : Object.keys(messages))
    .map((id) => messages[id] ?? [])
    .filter((list) => list.length > 0)
    .sort((a, b) => b[b.length - 1]!.ts - a[a.length - 1]!.ts);
  const hits: ChatMessage[] = [];
  for (const list of rooms) {
    if (hits.length >= limit && list[list.length - 1]!.ts < hits[hits.length - 1]!.ts) break;
    const { text, starts } = indexOf(list);
    // From the end: a conversation's hits come newest first (its list is in time order), and
    // one older than the oldest kept hit (once `limit` are kept) ends that conversation.
    let from = text.length;
    while (from >= 0) {
      const pos = text.lastIndexOf(first, from);
      if (pos < 0) break;
      const i = messageAt(starts, pos);
      const m = list[i]!;
      if (hits.length >= limit && m.ts < hits[hits.length - 1]!.ts) break;
      const end = i + 1 < starts.length ? starts[i + 1]! - 1 : text.length;
      const own = text.slice(starts[i]!, end);
      if (rest.every((w) => own.includes(w))) insert(hits, m, limit);
      from = starts[i]! - 1;
    }
  }
  return hits;
}
/** Keeps `hits` newest first and at most `limit` long. */
function insert(hits: ChatMessage[], m: ChatMessage, limit: number): void {
  let i = hits.length;
  while (i > 0 && hits[i - 1]!.ts < m.ts) i--;
  if (i >= limit) return;
  hits.splice(i, 0, m);
  if (hits.length > limit) hits.pop();
}
