import type { Storage } from "../storage/storage.js";
import type { RoomId, UserId } from "./ids.js";

export interface Membership {
  readonly set: ReadonlySet<UserId>;
  readonly list: readonly UserId[];
  readonly isPublic: boolean;
  readonly kind: "room" | "direct";
}

/**
 * Room membership as the relay needs it, per message and without a database round trip.
 * Entries are dropped on every membership change (here, or announced over the bus by another
 * server) and reloaded on next use, so a removed member stops receiving at once.
 */
export class MembershipCache {
  readonly #entries = new Map<RoomId, Membership | null>();
  readonly #loading = new Map<RoomId, Promise<Membership | null>>();

  constructor(
    private readonly storage: Storage,
    private readonly maxEntries = 10_000,
  ) {}

  /** Synchronous hit for the hot path; undefined means "not cached, call load()". */
  peek(roomId: RoomId): Membership | null | undefined {
    return this.#entries.get(roomId);
  }

  async load(roomId: RoomId): Promise<Membership | null> {
    const hit = this.#entries.get(roomId);
    if (hit !== undefined) return hit;
    const current = this.#loading.get(roomId);
    if (current) return current;
    const pending: Promise<Membership | null> = this.#fetch(roomId).then((entry) => {
      // Store only if no change invalidated this load meanwhile; a newer load may be running.
      if (this.#loading.get(roomId) === pending) {
        this.#loading.delete(roomId);
        if (this.#entries.size >= this.maxEntries) this.#entries.clear();
        this.#entries.set(roomId, entry);
      }
      return entry;
    });
    this.#loading.set(roomId, pending);
    pending.catch(() => {
      if (this.#loading.get(roomId) === pending) this.#loading.delete(roomId);
    });
    return pending;
  }

  invalidate(roomId: RoomId): void {
    this.#entries.delete(roomId);
    this.#loading.delete(roomId);
  }

  async #fetch(roomId: RoomId): Promise<Membership | null> {
    const room = await this.storage.findRoom(roomId);
    let entry: Membership | null = null;
    if (room) {
      const list = (await this.storage.listMembers(roomId)).map((m) => m.userId);
      entry = { set: new Set(list), list, isPublic: room.isPublic, kind: room.kind };
    }
    return entry;
  }
}
