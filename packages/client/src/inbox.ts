/** Handles the server's pushed frames one at a time in arrival order, and acknowledges its seq-numbered streams only after what they changed is stored. */

/** Where a stream keeps the highest seq this device has handled, across restarts. */
export interface SeqStore {
  /** The highest seq handled in an earlier session, or the stream's "none" value. */
  load(): Promise<number>;
  save(seq: number): Promise<void>;
}

export interface AckedStreamOptions {
  /** The seq mark, loaded on the first entry; a load that fails is tried again on the next. */
  readonly store: SeqStore;
  /** Sends the cumulative ack (`mls.ack`, `queue.ack`); false when there is no connection. */
  readonly ack: (upTo: number) => boolean;
}

/**
 * The serial executor of a client's receive path. MLS group states are values that every
 * operation replaces, and Commits must be applied in the delivery service's order (RFC 9420
 * §14), so every received frame is handled after the one before it has finished. A failing task
 * is reported and the next one runs.
 */
export class Inbox {
  #tail: Promise<void> = Promise.resolve();
  readonly #report: (error: unknown) => void;

  constructor(report: (error: unknown) => void) {
    this.#report = report;
  }

  /** Queues `task` behind everything received so far. */
  run(task: () => Promise<void>): void {
    this.#tail = this.#tail.then(task).catch((e: unknown) => this.#report(e));
  }

  /** Resolves once every task queued so far, and every task those queued, has finished. */
  async drain(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.#tail;
      await seen;
    } while (seen !== this.#tail);
  }

  /** A seq-numbered stream whose entries are handled in this inbox. */
  stream(options: AckedStreamOptions): AckedStream {
    return new AckedStream(this, options, this.#report);
  }
}

/**
 * One of the server's ordered, acknowledged per-device streams: the MLS handshake queue (MLS-6,
 * MLS-8) or the offline message queue (RELAY-6). Store-then-ack: an entry's seq is stored after
 * its handler has stored what it changed, and the ack goes out only at the end of a burst (no
 * entry left in the inbox), up to the highest seq stored. A crash before the ack makes the
 * server send the entries again; entries at or below the stored seq are then skipped, and the
 * burst is acknowledged again, so that an ack lost with its connection is made good.
 *
 * A handler that throws is reported and its entry still counts as handled: an entry that cannot
 * be applied now never can be, and one stuck entry would hold back every later one (the caller
 * repairs the group instead). Only a failure to store the seq holds the ack back.
 */
export class AckedStream {
  readonly #inbox: Inbox;
  readonly #o: AckedStreamOptions;
  readonly #report: (error: unknown) => void;
  #handled: Promise<number> | undefined;
  #stored: number | undefined;
  #inFlight = 0;

  constructor(inbox: Inbox, options: AckedStreamOptions, report: (error: unknown) => void) {
    this.#inbox = inbox;
    this.#o = options;
    this.#report = report;
  }

  /** Call in arrival order: `handle` runs in the inbox unless `seq` was handled before. */
  receive(seq: number, handle: () => Promise<void>): void {
    this.#inFlight++;
    this.#inbox.run(async () => {
      try {
        // Unknown after a store failure: handling again at worst meets an epoch already applied
        // or reports a replayed message, and never loses an entry.
        const handled = await this.#load().catch(() => Number.NEGATIVE_INFINITY);
        if (seq <= handled) {
          this.#stored = Math.max(this.#stored ?? handled, handled);
          return;
        }
        try {
          await handle();
        } catch (e) {
          this.#report(e);
        }
        await this.#o.store.save(seq);
        this.#handled = Promise.resolve(seq);
        this.#stored = seq;
      } finally {
        this.#inFlight--;
        if (this.#inFlight === 0 && this.#stored !== undefined) this.#o.ack(this.#stored);
      }
    });
  }

  /** This device got a new identity, whose entries are numbered afresh: the mark is loaded again. */
  forget(): void {
    this.#handled = undefined;
    this.#stored = undefined;
  }

  #load(): Promise<number> {
    this.#handled ??= this.#o.store.load().catch((e: unknown) => {
      this.#handled = undefined;
      throw e;
    });
    return this.#handled;
  }
}
