/** Batches this device's delivery and read receipts (RCPT-1) so that a burst of messages costs one frame per sender and room. */
import type { ClientFrameOf } from "@parley/protocol";
import { RECEIPT_IDS_MAX } from "@parley/protocol";
import type { Scheduler } from "./scheduler.js";

export type ReceiptState = "delivered" | "read";

/** Ids waiting for a connection, at most; the oldest go first (the sender asks again on sync, RCPT-4). */
const WAITING_MAX = 4096;

export interface ReceiptSenderOptions {
  readonly scheduler: Scheduler;
  /** Sends a frame; false when there is no connection. */
  fire(frame: ClientFrameOf<"receipt">): boolean;
  /** How long receipts gather before they go. Default 1000 ms. */
  readonly batchMs?: number;
}

/**
 * Each device acknowledges every message it receives, by the id its sender gave it (RCPT-3),
 * and its user's reading when they share read receipts. One frame per (room, sender, state)
 * every `batchMs` at most, each with up to RECEIPT_IDS_MAX ids. Receipts that find no
 * connection wait for the next one, within a bound.
 */
export class ReceiptSender {
  readonly #o: ReceiptSenderOptions;
  /** "state roomId to" -> ids, in the order they came. */
  readonly #waiting = new Map<string, Set<string>>();
  #count = 0;
  #scheduled = false;

  constructor(options: ReceiptSenderOptions) {
    this.#o = options;
  }

  add(roomId: string, to: string, id: string, state: ReceiptState): void {
    const key = `${state} ${roomId} ${to}`;
    const ids = this.#waiting.get(key) ?? new Set<string>();
    if (ids.has(id)) return;
    ids.add(id);
    this.#waiting.set(key, ids);
    this.#count++;
    if (this.#count > WAITING_MAX) this.#dropOldest();
    this.#schedule();
  }

  /** The connection is back: what waited goes now. */
  flushSoon(): void {
    if (this.#count > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#o.scheduler.later(this.#o.batchMs ?? 1000, async () => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    for (const [key, ids] of this.#waiting) {
      const [state, roomId, ...rest] = key.split(" ");
      const to = rest.join(" ");
      const list = [...ids];
      for (let i = 0; i < list.length; i += RECEIPT_IDS_MAX) {
        const chunk = list.slice(i, i + RECEIPT_IDS_MAX);
        const sent = this.#o.fire({
          type: "receipt",
          roomId: roomId ?? "",
          to,
          ids: chunk,
          state: state === "read" ? "read" : "delivered",
        });
        if (!sent) return; // no connection: the rest waits for flushSoon()
        for (const id of chunk) ids.delete(id);
        this.#count -= chunk.length;
      }
      this.#waiting.delete(key);
    }
  }

  #dropOldest(): void {
    for (const [key, ids] of this.#waiting) {
      const first = ids.values().next().value;
      if (first === undefined) {
        this.#waiting.delete(key);
        continue;
      }
      ids.delete(first);
      this.#count--;
      if (ids.size === 0) this.#waiting.delete(key);
      return;
    }
  }
}
