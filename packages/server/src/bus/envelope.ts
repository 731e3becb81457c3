// What goes over a node channel: batches of binary envelopes (bus protocol 2), or one envelope with a JSON header (1).
import { asUserId, type UserId } from "../domain/ids.js";

/**
 * Bus protocol 1, one frame per message: a kind byte (1 users, 2 device), a 4-byte big-endian
 * header length, a JSON header (recipients), then the frame bytes untouched. Still decoded, and
 * still sent while a node of protocol 1 is alive (a rolling upgrade, docs/OPERATIONS.md).
 *
 * Bus protocol 2, what a node sends once every node speaks it: one message per destination node
 * and event-loop tick, `ENVELOPE_BATCH` followed by entries in the order they were sent. Each
 * entry is a 4-byte big-endian length and then
 *
 *   users:  u8 1, u8 flags (bit 0: an excepted connection follows the users), u16 count,
 *           count x (u16 length, UTF-8 user id), [u16 length, UTF-8 connection id], frame
 *   device: u8 2, u16 length, UTF-8 user id, u16 length, UTF-8 device id, frame
 *
 * The frame is the rest of the entry, untouched (opaque ciphertext plus metadata, never written
 * to a key). The Lua fan-out script reads the recipients from the entry itself, so an entry is
 * encoded once and copied by Redis into the batch of every node that hosts one of them. A
 * message whose first byte is none of these is refused and counted, never guessed at.
 */
export const ENVELOPE_USERS = 1;
export const ENVELOPE_DEVICE = 2;
export const ENVELOPE_BATCH = 3;

/** The bus protocol this code sends when every node speaks it (`node-alive` says which each speaks). */
export const BUS_PROTOCOL = 2;

/** The longest id (user, device, connection) an entry can carry. */
const MAX_ID_BYTES = 0xffff;
/** Most recipients of one entry (the u16 count); a larger list is split over several entries. */
export const MAX_ENTRY_USERS = 0xffff;

export type Envelope =
  | { kind: typeof ENVELOPE_USERS; userIds: readonly UserId[]; except?: string; frame: Buffer }
  | { kind: typeof ENVELOPE_DEVICE; userId: UserId; deviceId: string; frame: Buffer };

// ------------------------------------------------------------------ protocol 1

export function encodeEnvelope(kind: number, header: object, frame: Buffer): Buffer {
  const head = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.allocUnsafe(5);
  prefix.writeUInt8(kind, 0);
  prefix.writeUInt32BE(head.length, 1);
  return Buffer.concat([prefix, head, frame]);
}

/** The protocol-1 message for `envelope`. */
export function encodeLegacy(envelope: Envelope): Buffer {
  if (envelope.kind === ENVELOPE_DEVICE)
    return encodeEnvelope(ENVELOPE_DEVICE, { u: envelope.userId, d: envelope.deviceId }, envelope.frame);
  const header =
    envelope.except === undefined ? { u: envelope.userIds } : { u: envelope.userIds, x: envelope.except };
  return encodeEnvelope(ENVELOPE_USERS, header, envelope.frame);
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

// ------------------------------------------------------------------ protocol 2

/**
 * One protocol-2 entry, its 4-byte length included: written into one buffer, the frame copied
 * once. Throws a RangeError for an id longer than 65,535 bytes or more than 65,535 users (the
 * bus splits longer recipient lists before it gets here).
 */
export function encodeEntry(envelope: Envelope): Buffer {
  if (envelope.kind === ENVELOPE_DEVICE) {
    const u = idBytes(envelope.userId);
    const d = idBytes(envelope.deviceId);
    const size = 1 + 2 + u + 2 + d + envelope.frame.length;
    const out = Buffer.allocUnsafe(4 + size);
    out.writeUInt32BE(size, 0);
    out[4] = ENVELOPE_DEVICE;
    let at = writeId(out, 5, envelope.userId, u);
    at = writeId(out, at, envelope.deviceId, d);
    envelope.frame.copy(out, at);
    return out;
  }
  const { userIds, except } = envelope;
  if (userIds.length > MAX_ENTRY_USERS) throw new RangeError("too many recipients for one entry");
  const lengths = new Array<number>(userIds.length);
  let size = 1 + 1 + 2 + envelope.frame.length;
  for (let i = 0; i < userIds.length; i++) {
    const n = idBytes(userIds[i] as string);
    lengths[i] = n;
    size += 2 + n;
  }
  const x = except === undefined ? -1 : idBytes(except);
  if (x >= 0) size += 2 + x;
  const out = Buffer.allocUnsafe(4 + size);
  out.writeUInt32BE(size, 0);
  out[4] = ENVELOPE_USERS;
  out[5] = x >= 0 ? 1 : 0;
  out.writeUInt16BE(userIds.length, 6);
  let at = 8;
  for (let i = 0; i < userIds.length; i++) at = writeId(out, at, userIds[i] as string, lengths[i] as number);
  if (except !== undefined) at = writeId(out, at, except, x);
  envelope.frame.copy(out, at);
  return out;
}

/** A protocol-2 batch of already encoded entries, as the Lua script assembles it for one node. */
export function encodeBatch(entries: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.of(ENVELOPE_BATCH), ...entries]);
}

/**
 * The envelopes of one message from a node channel, protocol 1 or 2, in order; null when the
 * message is malformed anywhere (a batch is taken whole or not at all, so a damaged one cannot
 * deliver a frame cut short or to the wrong users). `unknown` for a first byte this code does
 * not know: a message of a newer bus protocol.
 */
export function decodeMessage(message: Buffer): Envelope[] | null | "unknown" {
  if (message.length === 0) return null;
  const kind = message[0];
  if (kind === ENVELOPE_USERS || kind === ENVELOPE_DEVICE) {
    const one = decodeEnvelope(message);
    return one === null ? null : [one];
  }
  if (kind !== ENVELOPE_BATCH) return "unknown";
  const out: Envelope[] = [];
  let at = 1;
  while (at < message.length) {
    if (at + 4 > message.length) return null;
    const size = message.readUInt32BE(at);
    const end = at + 4 + size;
    if (size < 1 || end > message.length) return null;
    const entry = decodeEntryAt(message, at + 4, end);
    if (entry === null) return null;
    out.push(entry);
    at = end;
  }
  return out.length === 0 ? null : out;
}

/** One protocol-2 entry, its length included (as `encodeEntry` made it); null when malformed. */
export function decodeEntry(entry: Buffer): Envelope | null {
  if (entry.length < 5 || entry.readUInt32BE(0) !== entry.length - 4) return null;
  return decodeEntryAt(entry, 4, entry.length);
}

function decodeEntryAt(m: Buffer, start: number, end: number): Envelope | null {
  const kind = m[start];
  if (kind === ENVELOPE_DEVICE) {
    const user = readId(m, start + 1, end);
    if (user === null) return null;
    const device = readId(m, user.next, end);
    if (device === null) return null;
    return {
      kind,
      userId: asUserId(user.value),
      deviceId: device.value,
      frame: m.subarray(device.next, end),
    };
  }
  if (kind !== ENVELOPE_USERS || start + 4 > end) return null;
  const flags = m[start + 1] as number;
  if ((flags & ~1) !== 0) return null;
  const count = m.readUInt16BE(start + 2);
  const userIds = new Array<UserId>(count);
  let at = start + 4;
  for (let i = 0; i < count; i++) {
    const id = readId(m, at, end);
    if (id === null) return null;
    userIds[i] = asUserId(id.value);
    at = id.next;
  }
  if ((flags & 1) === 1) {
    const except = readId(m, at, end);
    if (except === null) return null;
    return { kind, userIds, except: except.value, frame: m.subarray(except.next, end) };
  }
  return { kind, userIds, frame: m.subarray(at, end) };
}

function idBytes(id: string): number {
  const n = Buffer.byteLength(id, "utf8");
  if (n > MAX_ID_BYTES) throw new RangeError("id too long for the bus envelope");
  return n;
}

function writeId(out: Buffer, at: number, id: string, length: number): number {
  out.writeUInt16BE(length, at);
  out.write(id, at + 2, length, "utf8");
  return at + 2 + length;
}

function readId(m: Buffer, at: number, end: number): { value: string; next: number } | null {
  if (at + 2 > end) return null;
  const length = m.readUInt16BE(at);
  const next = at + 2 + length;
  if (next > end) return null;
  return { value: m.toString("utf8", at + 2, next), next };
}
