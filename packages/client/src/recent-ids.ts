/** Remembers the server message ids seen lately, so that a message that arrives twice (live and from the offline queue) is decrypted once. */

/** Server message ids remembered; the oldest are forgotten first. */
const RECENT_IDS = 4096;

/**
 * MLS refuses a second decryption of one ciphertext (its key is spent), and the same message can
 * come twice: live and from the offline queue (RELAY-6). The queue's seq covers copies from an
 * earlier session; this covers the ones within a session.
 */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #limit: number;

  constructor(limit = RECENT_IDS) {
    this.#limit = limit;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Records `id`; false when it was seen already. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#limit) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
    return true;
  }
}
