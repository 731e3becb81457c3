/** The chat model's message history in the platform's sealed DeviceStore: recent messages per conversation, batched writes, and per-conversation state. */
import { bytesToUtf8, utf8ToBytes } from "@noble/ciphers/utils.js";
import { RoomView } from "@parley/protocol";
import { Check } from "typebox/value";
import { defaultTimers, type Timers } from "../platform.js";
import type { DeviceStore } from "../store.js";
import { isNotifyLevel, type NotifyLevel } from "./notify.js";
import type { ChatHistory, ChatMessage, ChatRoomState, DeviceNote, PendingChange, Person } from "./types.js";

const INDEX = "history/index";
const ROOMS = "history/rooms";
const roomKey = (roomId: string) => `history/room/${roomId}`;
/** Writes are batched: a burst of messages is one encrypted write per room. */
const SAVE_DELAY_MS = 500;
/** The newest messages kept per conversation. */
export const HISTORY_LIMIT = 1_000;

const encoder = { encode: utf8ToBytes };
const decoder = { decode: bytesToUtf8 };

export interface HistoryOptions {
  /** Messages older than this (ms) are dropped by the model and not loaded; default no limit. */
  maxAgeMs?: number | undefined;
  /** For batching writes. Default the host's. */
  timers?: Timers;
}

/**
 * A device's message history over its DeviceStore, which the platform seals (the browser's
 * store under a non-extractable WebCrypto key, the terminal's under its key file or
 * passphrase): each conversation's recent messages as one value, an index of the
 * conversations, and one value with what else the model keeps per conversation (unread counts,
 * disappearing timers). Messages still being sent are not kept: after a reload they could not
 * be sent anyway. Shared by both clients; the model decides what to remove (retention.ts).
 */
export class History implements ChatHistory {
  readonly #pending = new Map<string, readonly ChatMessage[]>();
  #rooms: ChatRoomState | undefined;
  readonly #timers: Timers;
  #timer: unknown;
  #writing: Promise<void> = Promise.resolve();
  maxAgeMs: number | undefined;

  constructor(
    private readonly store: DeviceStore,
    options: HistoryOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs;
    this.#timers = options.timers ?? defaultTimers;
  }

  #later(): void {
    this.#timer ??= this.#timers.setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, SAVE_DELAY_MS);
  }

  save(roomId: string, list: readonly ChatMessage[]): void {
    this.#pending.set(roomId, list);
    this.#later();
  }

  saveRooms(state: ChatRoomState): void {
    this.#rooms = state;
    // Small, and written at once rather than batched, so a conversation read just before a
    // reload stays read. An arriving message's count goes out with it (saveNow, same turn).
    void Promise.resolve().then(() => {
      const rooms = this.#rooms;
      if (rooms === undefined) return;
      this.#rooms = undefined;
      this.#writing = this.#writing.then(() => this.store.put(ROOMS, encoder.encode(JSON.stringify(rooms))));
    });
  }

  async loadRooms(): Promise<ChatRoomState | undefined> {
    const raw = await this.store.get(ROOMS);
    return raw === undefined ? undefined : parseRooms(decoder.decode(raw));
  }

  /** Writes one conversation (and anything else pending) now; resolves once it is stored. */
  saveNow(roomId: string, list: readonly ChatMessage[]): Promise<void> {
    this.#pending.set(roomId, list);
    return this.flush();
  }

  /** Writes every pending change now. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = [...this.#pending];
    const rooms = this.#rooms;
    this.#pending.clear();
    this.#rooms = undefined;
    this.#writing = this.#writing.then(async () => {
      if (rooms !== undefined) await this.store.put(ROOMS, encoder.encode(JSON.stringify(rooms)));
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

  /** Deletes every kept conversation and the room state (the user chose to keep nothing). */
  async clear(): Promise<void> {
    this.#pending.clear();
    this.#rooms = undefined;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    for (const roomId of await this.#index()) await this.store.delete(roomKey(roomId));
    await this.store.delete(INDEX);
    await this.store.delete(ROOMS);
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

function parseRooms(text: string): ChatRoomState | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const v = value as {
      unread?: unknown;
      disappearing?: unknown;
      pending?: unknown;
      deviceNotes?: unknown;
      notify?: unknown;
      previews?: unknown;
      rooms?: unknown;
      peers?: unknown;
    };
    const waiting = pending(v.pending);
    const notify = levels(v.notify);
    const peers = persons(v.peers);
    return {
      unread: numbers(v.unread),
      disappearing: numbers(v.disappearing),
      ...(Object.keys(waiting).length > 0 ? { pending: waiting } : {}),
      deviceNotes: notes(v.deviceNotes),
      ...(Object.keys(notify).length > 0 ? { notify } : {}),
      ...(v.previews === true ? { previews: true } : {}),
      ...(Array.isArray(v.rooms) ? { rooms: v.rooms.filter((r): r is RoomView => Check(RoomView, r)) } : {}),
      ...(Object.keys(peers).length > 0 ? { peers } : {}),
    };
  } catch {
    return undefined;
  }
}

/** A record of non-negative integers, anything else left out. */
function numbers(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof value !== "object" || value === null) return out;
  for (const [k, n] of Object.entries(value)) {
    if (k !== "__proto__" && Number.isSafeInteger(n) && (n as number) >= 0) out[k] = n as number;
  }
  return out;
}

/** Notification levels by conversation, anything else left out. */
function levels(value: unknown): Record<string, NotifyLevel> {
  const out: Record<string, NotifyLevel> = {};
  if (typeof value !== "object" || value === null) return out;
  for (const [k, level] of Object.entries(value)) {
    if (k !== "__proto__" && isNotifyLevel(level)) out[k] = level;
  }
  return out;
}

/** The other person of each direct conversation, anything malformed left out. */
function persons(value: unknown): Record<string, Person> {
  const out: Record<string, Person> = {};
  if (typeof value !== "object" || value === null) return out;
  for (const [roomId, p] of Object.entries(value)) {
    const v = p as Partial<Person> | null;
    if (roomId !== "__proto__" && typeof v?.id === "string" && typeof v.username === "string")
      out[roomId] = { id: v.id, username: v.username };
  }
  return out;
}

function notes(value: unknown): DeviceNote[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter(
      (n): n is DeviceNote =>
        typeof n === "object" &&
        n !== null &&
        typeof (n as DeviceNote).userId === "string" &&
        typeof (n as DeviceNote).deviceId === "string" &&
        ((n as DeviceNote).kind === "added" || (n as DeviceNote).kind === "removed") &&
        Number.isSafeInteger((n as DeviceNote).at),
    )
    .map(({ userId, deviceId, kind, at }) => ({ userId, deviceId, kind, at }));
}

/** CHAT-2..4: the waiting changes per conversation, anything malformed left out. */
function pending(value: unknown): Record<string, PendingChange[]> {
  const out: Record<string, PendingChange[]> = {};
  if (typeof value !== "object" || value === null) return out;
  for (const [roomId, list] of Object.entries(value)) {
    if (roomId === "__proto__" || !Array.isArray(list)) continue;
    const kept = list.filter(isPendingChange);
    if (kept.length > 0) out[roomId] = kept;
  }
  return out;
}

function isPendingChange(value: unknown): value is PendingChange {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<PendingChange>;
  const c = v.change as { kind?: unknown; emoji?: unknown; on?: unknown; text?: unknown } | undefined;
  return (
    typeof v.target?.key === "string" &&
    typeof v.target.fromId === "string" &&
    typeof v.by?.id === "string" &&
    typeof v.by.username === "string" &&
    typeof v.at === "number" &&
    typeof v.id === "string" &&
    typeof c === "object" &&
    c !== null &&
    ((c.kind === "reaction" && typeof c.emoji === "string" && typeof c.on === "boolean") ||
      (c.kind === "edit" && typeof c.text === "string") ||
      c.kind === "delete")
  );
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
