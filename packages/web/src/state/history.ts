import type { ChatHistory, ChatMessage, DeviceStore } from "@parley/client";

const INDEX = "history/index";
const roomKey = (roomId: string) => `history/room/${roomId}`;
/** Writes are batched: a burst of messages is one encrypted write per room. */
const SAVE_DELAY_MS = 500;
/** The newest messages kept per conversation. */
export const HISTORY_LIMIT = 1_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Opt-in message history ("keep history on this device"), in the account's sealed store: each
 * conversation's recent messages as one encrypted value, plus an index of the conversations.
 * Messages still being sent are not kept: after a reload they could not be sent anyway.
 */
export class History implements ChatHistory {
  readonly #pending = new Map<string, readonly ChatMessage[]>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(private readonly store: DeviceStore) {}

  save(roomId: string, list: readonly ChatMessage[]): void {
    this.#pending.set(roomId, list);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, SAVE_DELAY_MS);
  }

  /** Writes one conversation (and anything else pending) now; resolves once it is stored. */
  saveNow(roomId: string, list: readonly ChatMessage[]): Promise<void> {
    this.#pending.set(roomId, list);
    return this.flush();
  }

  /** Writes every pending change now. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = [...this.#pending];
    this.#pending.clear();
    this.#writing = this.#writing.then(async () => {
      if (batch.length === 0) return;
      const index = new Set(await this.#index());
      for (const [roomId, list] of batch) {
        const kept = list.filter((m) => m.status !== "sending").slice(-HISTORY_LIMIT);
        await this.store.put(roomKey(roomId), encoder.encode(JSON.stringify(kept)));
        index.add(roomId);
      }
      await this.store.put(INDEX, encoder.encode(JSON.stringify([...index])));
    });
    return this.#writing;
  }

  async loadAll(): Promise<Record<string, readonly ChatMessage[]>> {
    const out: Record<string, readonly ChatMessage[]> = {};
    for (const roomId of await this.#index()) {
      const raw = await this.store.get(roomKey(roomId));
      if (raw === undefined) continue;
      const list = parseList(decoder.decode(raw));
      if (list.length > 0) out[roomId] = list;
    }
    return out;
  }

  async remove(roomId: string): Promise<void> {
    this.#pending.delete(roomId);
    await this.#writing;
    await this.store.delete(roomKey(roomId));
    const index = (await this.#index()).filter((r) => r !== roomId);
    await this.store.put(INDEX, encoder.encode(JSON.stringify(index)));
  }

  /** Deletes every kept conversation (the user turned history off). */
  async clear(): Promise<void> {
    this.#pending.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    for (const roomId of await this.#index()) await this.store.delete(roomKey(roomId));
    await this.store.delete(INDEX);
  }

  async #index(): Promise<string[]> {
    const raw = await this.store.get(INDEX);
    if (raw === undefined) return [];
    try {
      const value: unknown = JSON.parse(decoder.decode(raw));
      return Array.isArray(value) ? value.filter((x): x is string => typeof x === "string") : [];
    } catch {
      return [];
    }
  }
}

function parseList(text: string): ChatMessage[] {
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter(
      (m): m is ChatMessage =>
        typeof m === "object" &&
        m !== null &&
        typeof (m as ChatMessage).key === "string" &&
        typeof (m as ChatMessage).roomId === "string" &&
        typeof (m as ChatMessage).text === "string" &&
        typeof (m as ChatMessage).ts === "number",
    );
  } catch {
    return [];
  }
}
