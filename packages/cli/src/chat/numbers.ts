/** Numbers the messages `parley chat` prints, so a command can name one ("/reply 3"). */

/** Numbers remembered; older ones are forgotten. */
const KEPT = 2_000;

export interface NumberedMessage {
  readonly roomId: string;
  readonly key: string;
  readonly fromId: string;
}

/**
 * A plain terminal cannot point at a line, so every message printed in this session gets a
 * number after it ("#7"), the same each time it is printed again (kept history, search).
 */
export class MessageNumbers {
  readonly #byNumber = new Map<number, NumberedMessage>();
  readonly #byMessage = new Map<string, number>();
  #last = 0;

  /** The message's number, given now if it has none. */
  of(m: NumberedMessage): number {
    const id = `${m.roomId} ${m.fromId} ${m.key}`;
    const known = this.#byMessage.get(id);
    if (known !== undefined) return known;
    this.#last += 1;
    this.#byNumber.set(this.#last, { roomId: m.roomId, key: m.key, fromId: m.fromId });
    this.#byMessage.set(id, this.#last);
    const old = this.#byNumber.get(this.#last - KEPT);
    if (old !== undefined) {
      this.#byNumber.delete(this.#last - KEPT);
      this.#byMessage.delete(`${old.roomId} ${old.fromId} ${old.key}`);
    }
    return this.#last;
  }

  /** The message numbered `n`, if it was printed in this session (and not long ago). */
  find(n: number): NumberedMessage | undefined {
    return this.#byNumber.get(n);
  }

  /** The number a message was printed with, if any. */
  numberOf(m: NumberedMessage): number | undefined {
    return this.#byMessage.get(`${m.roomId} ${m.fromId} ${m.key}`);
  }
}
