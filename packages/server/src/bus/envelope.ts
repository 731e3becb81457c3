// The binary envelope of a frame on a node channel: recipients in a JSON header, the frame bytes untouched.
import { asUserId, type UserId } from "../domain/ids.js";

/**
 * What goes over a node channel: one kind byte, a 4-byte big-endian header length, a JSON
 * header (recipients), then the frame bytes untouched. Binary-safe and parsed without copying
 * the frame, which is opaque ciphertext plus metadata and is never written to a key.
 */
export const ENVELOPE_USERS = 1;
export const ENVELOPE_DEVICE = 2;

export type Envelope =
  | { kind: typeof ENVELOPE_USERS; userIds: UserId[]; except?: string; frame: Buffer }
  | { kind: typeof ENVELOPE_DEVICE; userId: UserId; deviceId: string; frame: Buffer };

export function encodeEnvelope(kind: number, header: object, frame: Buffer): Buffer {
  const head = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.allocUnsafe(5);
  prefix.writeUInt8(kind, 0);
  prefix.writeUInt32BE(head.length, 1);
  return Buffer.concat([prefix, head, frame]);
}

/** Null for anything malformed: Redis is shared infrastructure, not a trusted peer. */
export function decodeEnvelope(message: Buffer): Envelope | null {
  if (message.length < 5) return null;
  const kind = message.readUInt8(0);
  const length = message.readUInt32BE(1);
  if (5 + length > message.length) return null;
  let header: unknown;
  try {
    header = JSON.parse(message.subarray(5, 5 + length).toString("utf8"));
  } catch {
    return null;
  }
  if (typeof header !== "object" || header === null) return null;
  const h = header as Record<string, unknown>;
  const frame = message.subarray(5 + length);
  if (kind === ENVELOPE_USERS) {
    if (!Array.isArray(h.u) || !h.u.every((u) => typeof u === "string")) return null;
    if (h.x !== undefined && typeof h.x !== "string") return null;
    const userIds = (h.u as string[]).map(asUserId);
    return typeof h.x === "string"
      ? { kind, userIds, except: h.x, frame }
      : { kind: ENVELOPE_USERS, userIds, frame };
  }
  if (kind === ENVELOPE_DEVICE) {
    if (typeof h.u !== "string" || typeof h.d !== "string") return null;
    return { kind, userId: asUserId(h.u), deviceId: h.d, frame };
  }
  return null;
}
