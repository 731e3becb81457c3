import type { DeviceRef } from "../storage/delivery-store.js";
import type { AuthContext } from "./accounts.js";
import type { DeliveryService } from "./delivery.js";
import { encodeFrame } from "./encode.js";
import type { RoomId, UserId } from "./ids.js";
import { type OfflineQueue, queuedFrame } from "./offline-queue.js";

/** Where a stream writes: one authenticated connection of the device. */
export interface StreamOutput {
  /** Sends an already-serialised frame (the connection drops it once closing). */
  send(frame: Buffer): void;
  /** True once the connection is closing: paging stops. */
  readonly closed: boolean;
}

export interface DeviceStreamsOptions {
  delivery: Pick<DeliveryService, "pendingFrames" | "ack" | "isRegistered">;
  /** The opt-in offline ciphertext queue (RELAY-5..7); absent when it is off. */
  offlineQueue?: OfflineQueue | undefined;
  /** RELAY-7: whether the user is a member of the room right now. */
  isMember: (roomId: RoomId, userId: UserId) => Promise<boolean>;
  /** Counts queued messages sent, for /metrics. */
  counters?: { queueSent: { inc(by: number): void } };
}

/** Pages a device reads through at most per call: each page moves past QUEUE_PAGE entries. */
const MAX_ROUNDS = 1000;

/**
 * The per-device streams of ordered, acknowledged data: the MLS handshake backlog (MLS-6,
 * MLS-8) and, when the operator turned it on, the offline ciphertext queue (RELAY-6, RELAY-7).
 * A connection opens one stream for the device it speaks for; the gateway then only asks the
 * stream to start, hands it the device's acks and tells it when entries were written.
 */
export class DeviceStreams {
  constructor(private readonly o: DeviceStreamsOptions) {}

  /** The stream of `auth`'s device `deviceId`, written to `out` (one per connection). */
  open(auth: AuthContext, deviceId: string, out: StreamOutput): DeviceStream {
    return new DeviceStream(this.o, auth, deviceId, out);
  }

  /**
   * RELAY-7: the user left the room or was removed from it; nothing of it waits for their
   * devices any more. (Entries written meanwhile are dropped when a page meets them.)
   */
  async memberGone(userId: UserId, roomId: RoomId): Promise<void> {
    await this.o.offlineQueue?.dropRoom(userId, roomId);
  }
}

/** One device's stream on one connection: what it sent, what the device acknowledged. */
export class DeviceStream {
  readonly device: DeviceRef;
  /** RELAY-6: queue delivery started on this connection (once per connection). */
  #queueStarted = false;
  /** The seq this connection has read the queue up to (sent or skipped). */
  #readUpTo = 0;
  /** The seq of the last queued frame sent: its ack asks for the next page. */
  #awaitedAck = 0;
  #acked = 0;

  constructor(
    private readonly o: DeviceStreamsOptions,
    private readonly auth: AuthContext,
    deviceId: string,
    private readonly out: StreamOutput,
  ) {
    this.device = { userId: auth.userId, deviceId };
  }

  /** After `auth`: the device's backlog when it is registered (MLS-8, then RELAY-6). */
  async resume(): Promise<void> {
    if (await this.o.delivery.isRegistered(this.device.userId, this.device.deviceId)) await this.start();
  }

  /**
   * MLS-8: every handshake entry still queued for the device, oldest first; then (RELAY-6,
   * once per connection) the queue's drop count and its first page, after the handshakes so
   * the device has the keys of the messages' epochs.
   */
  async start(): Promise<void> {
    for (const frame of await this.o.delivery.pendingFrames(this.auth, this.device.deviceId)) {
      this.out.send(frame);
    }
    const queue = this.o.offlineQueue;
    if (!queue || this.#queueStarted) return;
    this.#queueStarted = true;
    const missed = await queue.missedFrame(this.device);
    if (missed) this.out.send(missed);
    await this.#sendPage();
  }

  /** MLS-6: drops the device's handshake entries with `seq <= upTo`. */
  async ackHandshakes(upTo: number): Promise<void> {
    await this.o.delivery.ack(this.auth, this.device.deviceId, upTo);
  }

  /**
   * RELAY-6: deletes the device's queued entries with `seq <= upTo`; an ack that covers
   * everything sent so far brings the next page. Harmless with the queue off.
   */
  async ackQueue(upTo: number): Promise<void> {
    const queue = this.o.offlineQueue;
    if (!queue) return;
    await queue.ack(this.device, upTo);
    this.#acked = Math.max(this.#acked, upTo);
    if (upTo >= this.#awaitedAck) await this.#sendPage();
  }

  /**
   * RELAY-6: entries were queued for this device. It may have read its queue just before they
   * were written: with no page outstanding it reads on (an outstanding page's ack does it).
   */
  async queueWritten(): Promise<void> {
    if (this.#queueStarted && this.#acked >= this.#awaitedAck) await this.#sendPage();
  }

  /**
   * Sends the next page after what this connection read; skips pages that RELAY-7 emptied.
   * An entry of a room the user is no longer in is dropped (with the rest of that room's
   * entries for the user) instead of sent, whatever way they left.
   */
  async #sendPage(): Promise<void> {
    const queue = this.o.offlineQueue;
    if (!queue || !this.#queueStarted) return;
    for (let round = 0; round < MAX_ROUNDS && !this.out.closed; round++) {
      const entries = await queue.page(this.device, this.#readUpTo);
      const last = entries.at(-1);
      if (last === undefined) return;
      this.#readUpTo = last.seq;
      const member = new Map<RoomId, boolean>();
      const frames: Buffer[] = [];
      let lastFrameSeq = 0;
      for (const e of entries) {
        let isMember = member.get(e.roomId);
        if (isMember === undefined) {
          isMember = await this.o.isMember(e.roomId, this.device.userId);
          member.set(e.roomId, isMember);
          if (!isMember) await queue.dropRoom(this.device.userId, e.roomId);
        }
        if (!isMember) continue;
        frames.push(encodeFrame(queuedFrame(e)));
        lastFrameSeq = e.seq;
      }
      if (frames.length === 0) continue;
      this.#awaitedAck = lastFrameSeq;
      for (const frame of frames) this.out.send(frame);
      this.o.counters?.queueSent.inc(frames.length);
      return;
    }
  }
}
