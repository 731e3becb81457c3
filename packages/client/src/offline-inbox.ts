import { bytesToUtf8, utf8ToBytes } from "@noble/ciphers/utils.js";
import type { ClientFrame, ServerFrameOf } from "@parley/protocol";
import type { DeviceStore } from "./store.js";

/** Server message ids remembered for de-duplication; older ones are forgotten first. */
const RECENT_IDS = 4096;
/** The highest queue seq this device has handled, kept across restarts (like the handshake seq). */
const SEQ_KEY = "device/offline-queue-seq";

type MessageFrame = ServerFrameOf<"message">;

/**
 * The client side of the server's offline ciphertext queue (docs/PROTOCOL.md RELAY-5..7).
 * Queued messages arrive as ordinary `message` frames with `queued: true` and a per-device
 * `seq`, after the handshake backlog, and are decrypted like live ones. This class makes sure
 * each is decrypted once: MLS refuses a second decryption of one ciphertext (its key is spent),
 * and the same message can come twice, live and from the queue, or again after a restart whose
 * ack was lost. It skips server ids seen in this session and queue seqs handled in any earlier
 * one, and acknowledges queued messages once per burst, after they were handled, so that the
 * server deletes them and sends its next page. A message that does not decrypt is
 * acknowledged too: it never will (its epoch's keys are gone), and it was reported as an
 * `error` event.
 */
export class OfflineInbox {
  readonly #recent = new Set<string>();
  readonly #fire: (frame: ClientFrame) => boolean;
  readonly #store: DeviceStore;
  #handledSeq: Promise<number> | undefined;
  #inFlight = 0;
  #lastSeq = 0;

  constructor(fire: (frame: ClientFrame) => boolean, store: DeviceStore) {
    this.#fire = fire;
    this.#store = store;
  }

  /** Called as the frame arrives (in order); false for a server id already seen. */
  arrived(frame: MessageFrame): boolean {
    if (frame.queued === true) this.#inFlight++;
    if (this.#recent.has(frame.id)) return false;
    this.#recent.add(frame.id);
    if (this.#recent.size > RECENT_IDS) {
      const oldest = this.#recent.values().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
    return true;
  }

  /**
   * Runs `decrypt` for a new message, in the client's inbox (one frame at a time), then records
   * a queued message as handled and acknowledges the burst once it is over.
   */
  async handle(frame: MessageFrame, fresh: boolean, decrypt: () => Promise<void>): Promise<void> {
    if (frame.queued !== true || frame.seq === undefined) {
      if (fresh) await decrypt();
      return;
    }
    try {
      // Unknown after a store failure: decrypting again at worst reports a replay, never loses one.
      const handled = await this.#loadSeq().catch(() => 0);
      if (fresh && frame.seq > handled) await decrypt();
      if (frame.seq > handled) {
        this.#handledSeq = Promise.resolve(frame.seq);
        await this.#store.put(SEQ_KEY, utf8ToBytes(String(frame.seq)));
      }
    } finally {
      this.#inFlight--;
      if (frame.seq > this.#lastSeq) this.#lastSeq = frame.seq;
      // Seqs only grow per device, so the highest one seen acknowledges everything handled.
      // Sent at the end of every burst, also one of resent entries whose first ack was lost.
      if (this.#inFlight === 0) this.#fire({ type: "queue.ack", upTo: this.#lastSeq });
    }
  }

  #loadSeq(): Promise<number> {
    this.#handledSeq ??= this.#store.get(SEQ_KEY).then(
      (raw) => {
        const n = raw === undefined ? 0 : Number(bytesToUtf8(raw));
        return Number.isSafeInteger(n) ? n : 0;
      },
      (e: unknown) => {
        this.#handledSeq = undefined; // a store that failed once is asked again next time
        throw e;
      },
    );
    return this.#handledSeq;
  }
}
