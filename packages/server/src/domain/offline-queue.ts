import { deviceKey, type ServerFrameOf } from "@parley/protocol";
import type { Bus } from "../bus/bus.js";
import type { DeviceRef } from "../storage/delivery-store.js";
import type { OfflineMessage, QueuedMessage } from "../storage/offline-queue-store.js";
import type { Storage } from "../storage/storage.js";
import { encodeFrame } from "./encode.js";
import type { RoomId, UserId } from "./ids.js";

export interface OfflineQueueOptions {
  storage: Storage;
  bus: Bus;
  /** How long an entry waits for its device, ms (PARLEY_OFFLINE_QUEUE_TTL_S). */
  ttlMs: number;
  /** Entries kept per device (PARLEY_OFFLINE_QUEUE_MAX_PER_DEVICE). */
  maxPerDevice: number;
  /**
   * Entries were queued for these devices. A device that connected while they were being
   * written may have read its queue just before: this lets the gateway send it the rest.
   */
  onQueued?: (devices: readonly DeviceRef[]) => void;
  /** Counts for /metrics: entries written, and entries the cap dropped (when the device is told). */
  counters?: { written: Increment; dropped: Increment };
  now?: () => number;
}

interface Increment {
  inc(by: number): void;
}

/** Queued messages sent per page; the next page follows the device's `queue.ack` (RELAY-6). */
export const QUEUE_PAGE = 100;

/**
 * The opt-in offline ciphertext queue (RELAY-5..7). Without it a room message reaches only the
 * devices connected at that moment; with it, the MLS group's devices of the room's current
 * members that are connected nowhere get the ciphertext kept for them until they come back and
 * acknowledge it, or until it expires. Only the server's instance of this class exists when the
 * operator turned the option on, so "off" stores nothing by construction.
 */
export class OfflineQueue {
  readonly #now: () => number;

  constructor(private readonly o: OfflineQueueOptions) {
    if (!Number.isInteger(o.maxPerDevice) || o.maxPerDevice < 1) {
      throw new RangeError("maxPerDevice must be a positive integer");
    }
    if (!(o.ttlMs > 0)) throw new RangeError("ttlMs must be positive");
    this.#now = o.now ?? Date.now;
  }

  /**
   * RELAY-5: keeps `message` for the room's devices that are connected nowhere. Only devices in
   * the room's MLS group can decrypt it, so those are the candidates, limited to users who are
   * members right now (a removed member's devices may linger in the group until a Commit drops
   * them, and must get nothing).
   */
  async enqueue(members: ReadonlySet<UserId>, message: OfflineMessage): Promise<number> {
    const devices = (await this.o.storage.delivery.groupDevices(message.roomId)).filter((d) =>
      members.has(d.userId),
    );
    if (devices.length === 0) return 0;
    const connected = await this.o.bus.connectedDevices(devices);
    const offline = devices.filter((d) => !connected.has(deviceKey(d)));
    if (offline.length === 0) return 0;
    const made = await this.o.storage.offlineQueue.enqueue({
      to: offline,
      message,
      expiresAt: this.#now() + this.o.ttlMs,
      maxPerDevice: this.o.maxPerDevice,
    });
    this.o.counters?.written.inc(made);
    this.o.onQueued?.(offline);
    return made;
  }

  /** How many entries the cap dropped since the device was last told, as a frame (or none). */
  async missedFrame(ref: DeviceRef): Promise<Buffer | undefined> {
    const dropped = await this.o.storage.offlineQueue.takeDropped(ref);
    if (dropped === 0) return undefined;
    this.o.counters?.dropped.inc(dropped);
    return encodeFrame({ type: "queue.missed", dropped });
  }

  /**
   * RELAY-6: the device's next page after `afterSeq`, oldest first, unexpired. The device's
   * stream (device-stream.ts) turns it into frames and drops what RELAY-7 forbids.
   */
  async page(ref: DeviceRef, afterSeq: number): Promise<QueuedMessage[]> {
    return this.o.storage.offlineQueue.pending(ref, afterSeq, QUEUE_PAGE, this.#now());
  }

  /** RELAY-6: deletes the device's entries up to and including `upTo`. */
  async ack(ref: DeviceRef, upTo: number): Promise<void> {
    await this.o.storage.offlineQueue.ack(ref, upTo);
  }

  /** RELAY-7: deletes the room's entries for every device of the user. */
  async dropRoom(userId: UserId, roomId: RoomId): Promise<void> {
    await this.o.storage.offlineQueue.dropRoom(userId, roomId);
  }
}

export function queuedFrame(e: QueuedMessage): ServerFrameOf<"message"> {
  return {
    type: "message",
    id: e.messageId,
    ts: e.ts,
    from: { id: e.from.userId, username: e.from.username },
    room: e.roomId,
    payload: e.payload,
    queued: true,
    seq: e.seq,
  };
}
