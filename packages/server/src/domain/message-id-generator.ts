import { randomBytes } from "node:crypto";

/**
 * Makes message ids (WS-6): a random per-process prefix and a counter. Unique across servers
 * and restarts without a lookup, and cheap on the hot path.
 */
export class MessageIdGenerator {
  readonly #prefix = randomBytes(6).toString("base64url");
  #counter = 0;

  next(): string {
    this.#counter += 1;
    return `${this.#prefix}${this.#counter.toString(36)}`;
  }
}
