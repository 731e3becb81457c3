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

/** Each message's text as searched, worked out once per message value (messages are immutable). */
const folded = new WeakMap<ChatMessage, string>();

/** Case and accents do not count: "Cafe" finds "café". */
export function fold(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

function foldedText(m: ChatMessage): string {
  let f = folded.get(m);
  if (f === undefined) {
    f = fold(m.text);
    folded.set(m, f);
  }
  return f;
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
  const rooms = options.roomId !== undefined ? [options.roomId] : Object.keys(messages);
  const hits: ChatMessage[] = [];
  for (const roomId of rooms) {
    const list = messages[roomId] ?? [];
    // Each list is in time order: from its end, a conversation's hits come newest first, and
    // one older than the oldest kept hit (once `limit` are kept) ends that conversation.
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i]!;
      if (hits.length >= limit && m.ts < hits[hits.length - 1]!.ts) break;
      if (m.system === true || m.deleted === true) continue;
      const text = foldedText(m);
      if (!words.every((w) => text.includes(w))) continue;
      insert(hits, m, limit);
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
