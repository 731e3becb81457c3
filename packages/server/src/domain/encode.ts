import { randomBytes } from "node:crypto";
import type { ServerFrame } from "@parley/protocol";

/** Serialises a frame once; the same buffer goes to every recipient (RELAY-2 in docs/PROTOCOL.md). */
export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame));
}

/**
 * Message ids: a random per-process prefix and a counter. Unique across servers and restarts
 * without a lookup, and cheap on the hot path.
 */
export class MessageIds {
  readonly #prefix = randomBytes(6).toString("base64url");
  #counter = 0;

  next(): string {
    this.#counter += 1;
    return `${this.#prefix}${this.#counter.toString(36)}`;
  }
}
