import { randomBytes } from "node:crypto";

/**
 * Benchmark payloads: S opaque bytes, base64 (what Parley relays), whose first 18 bytes carry
 * what the receiver needs to measure and account: the send time, the room and a sequence
 * number. 18 bytes are exactly 24 base64 characters without padding, so the header is encoded
 * per message and the random rest is encoded once per size and appended as it is.
 *
 *   0..7   float64  send time, ms on this process's clock (performance.timeOrigin + now)
 *   8..11  uint32   room index inside the generator process
 *   12..15 uint32   message sequence number inside the room
 *   16..17 uint16   reserved (0)
 */

export const HEADER_BYTES = 18;
export const HEADER_CHARS = 24;

/** A short chat message as an MLS PrivateMessage from @parley/crypto (content padded to 256). */
export const MLS_MESSAGE_BYTES = 334;

export interface PayloadHeader {
  sentAtMs: number;
  room: number;
  seq: number;
}

export class PayloadFactory {
  readonly #tail: string;
  readonly #header = Buffer.alloc(HEADER_BYTES);

  constructor(readonly bytes: number) {
    if (!Number.isInteger(bytes) || bytes < HEADER_BYTES) {
      throw new RangeError(`payload must be at least ${HEADER_BYTES} bytes, got ${bytes}`);
    }
    this.#tail = randomBytes(bytes - HEADER_BYTES).toString("base64");
  }

  make(h: PayloadHeader): string {
    this.#header.writeDoubleLE(h.sentAtMs, 0);
    this.#header.writeUInt32LE(h.room, 8);
    this.#header.writeUInt32LE(h.seq, 12);
    return this.#header.toString("base64") + this.#tail;
  }
}

const scratch = Buffer.alloc(HEADER_BYTES);

/** Decodes the 24-character header at the start of a payload; null when it is malformed. */
export function readHeader(chars: string): PayloadHeader | null {
  if (chars.length < HEADER_CHARS) return null;
  const n = scratch.write(chars.slice(0, HEADER_CHARS), "base64");
  if (n !== HEADER_BYTES) return null;
  return { sentAtMs: scratch.readDoubleLE(0), room: scratch.readUInt32LE(8), seq: scratch.readUInt32LE(12) };
}

/** The clock both ends of a measurement use; sender and receivers share a process. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const MARK = Buffer.from('"payload":"');

/**
 * Finds the payload header inside a raw JSON text frame without parsing the frame: Parley's
 * `message`, ws-relay's forwarded `send` and Socket.IO's `42["message",{...}]` all carry
 * `"payload":"<base64>"` and nothing else in them does.
 */
export function headerInFrame(frame: Buffer): string | null {
  const i = frame.indexOf(MARK);
  if (i < 0) return null;
  const start = i + MARK.length;
  return frame.toString("latin1", start, start + HEADER_CHARS);
}

export function startsWith(frame: Buffer, prefix: Buffer): boolean {
  return frame.length >= prefix.length && frame.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
