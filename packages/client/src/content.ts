/** Encodes and decodes what travels inside an MLS application message (versioned JSON: text or structured data, stamped with the sender's message id and time). */
import { bytesToHex, bytesToUtf8, randomBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { MESSAGE_ID_PATTERN } from "@parley/protocol";
import { ParleyClientError } from "./errors.js";
import { checkDescriptor, type FileDescriptor } from "./files.js";
import { parseJson } from "./json.js";

/**
 * What travels inside an MLS application message: UTF-8 JSON, versioned so clients can add
 * kinds later. The server never sees it.
 *
 *   { "v": 1, "text": "hello", "id": "<32 hex>", "sent": 1765000000000 }   a text message
 *   { "v": 1, "data": <any JSON>, "id": ..., "sent": ... }                   a structured payload
 *   { "v": 1, "file": <FileDescriptor>, "id": ..., "sent": ... }             an encrypted file (files.ts)
 *   { "v": 1, "sync": <Sync> }                 RCPT-4: what a (re)connected device holds and awaits
 *   { "v": 1, "batch": [<stamped content>] }   RCPT-5: messages sent again to a device that lacked them
 *
 * `id` and `sent` (RCPT-3) are chosen by the sender at compose time and kept by every
 * redelivery; content from older clients has neither and is still read.
 */
export type Content =
  | { readonly text: string }
  | { readonly data: unknown }
  /** An encrypted file in the server's blob store: its id, key, hash and what to show (files.ts). */
  | { readonly file: FileDescriptor };

/** RCPT-3: a message's own id (128 random bits, hex) and the time its sender composed it (ms). */
export interface Stamp {
  readonly id: string;
  readonly sent: number;
  /**
   * RCPT-6: the author device's Ed25519 signature (base64) over originText(), so that a copy
   * another member passes on can be checked. Absent in content from older clients.
   */
  readonly sig?: string;
}

/** RCPT-6: the author of a message another member passes on, as the holder received it. */
export interface Origin {
  readonly userId: string;
  readonly deviceId: string;
  readonly username: string;
}

/** RCPT-4: what a device says to its group when it (re)connects. */
export interface SyncNotice {
  /** Ids of messages this device received lately (newest last, bounded): nobody sends them again. */
  readonly have: readonly string[];
  /** Ids of messages this device sent that some member device has not acknowledged yet (bounded). */
  readonly pending: readonly string[];
  /** True on the answer to another device's notice: it is not answered with a notice again. */
  readonly reply?: true;
}

export interface StampedContent {
  readonly content: Content;
  readonly stamp: Stamp;
  /** RCPT-6: set when the sender of the batch passes on another device's message. */
  readonly by?: Origin;
}

/**
 * RCPT-6: what an author signs: the room, its device, the message id and time and the content,
 * as one JSON array (JSON.stringify is deterministic for these values).
 */
export function originText(
  roomId: string,
  author: { readonly userId: string; readonly deviceId: string },
  stamp: Stamp,
  content: Content,
): string {
  return JSON.stringify([roomId, author.userId, author.deviceId, stamp.id, stamp.sent, body(content)]);
}

/** Everything an application message can hold. */
export type Envelope =
  | { readonly kind: "content"; readonly content: Content; readonly stamp: Stamp | undefined }
  | { readonly kind: "sync"; readonly sync: SyncNotice }
  | { readonly kind: "batch"; readonly items: readonly StampedContent[] };

const VERSION = 1;
const ID = new RegExp(MESSAGE_ID_PATTERN);
/** RCPT-4: ids one sync notice may list, per list. */
export const SYNC_IDS_MAX = 256;

/** A fresh message id (RCPT-3): 128 bits from the platform's CSPRNG, as 32 hex digits. */
export function newMessageId(): string {
  return bytesToHex(randomBytes(16));
}

export function isMessageId(value: unknown): value is string {
  return typeof value === "string" && ID.test(value);
}

function body(content: Content): Record<string, unknown> {
  if ("text" in content) {
    if (typeof content.text !== "string") throw new TypeError("text must be a string");
    return { text: content.text };
  }
  if ("file" in content) return { file: checkDescriptor(content.file) };
  if (content.data === undefined) throw new TypeError("data must be a JSON value");
  return { data: content.data };
}

function stampOf(stamp: Stamp): Record<string, unknown> {
  if (!isMessageId(stamp.id)) throw new TypeError("stamp.id must be 32 lower-case hex digits");
  if (!Number.isSafeInteger(stamp.sent) || stamp.sent < 0)
    throw new TypeError("stamp.sent must be a non-negative integer");
  return { id: stamp.id, sent: stamp.sent, ...(stamp.sig !== undefined ? { sig: stamp.sig } : {}) };
}

export function encodeContent(content: string | Content, stamp?: Stamp): Uint8Array {
  const c: Content = typeof content === "string" ? { text: content } : content;
  return utf8ToBytes(
    JSON.stringify({ v: VERSION, ...body(c), ...(stamp !== undefined ? stampOf(stamp) : {}) }),
  );
}

export function encodeSync(sync: SyncNotice): Uint8Array {
  const list = (ids: readonly string[]) => ids.slice(-SYNC_IDS_MAX);
  return utf8ToBytes(
    JSON.stringify({
      v: VERSION,
      sync: { have: list(sync.have), pending: list(sync.pending), ...(sync.reply ? { reply: true } : {}) },
    }),
  );
}

export function encodeBatch(items: readonly StampedContent[]): Uint8Array {
  return utf8ToBytes(
    JSON.stringify({
      v: VERSION,
      batch: items.map((i) => ({
        ...body(i.content),
        ...stampOf(i.stamp),
        ...(i.by !== undefined ? { by: { ...i.by } } : {}),
      })),
    }),
  );
}

/** Throws ParleyClientError `content_invalid` for anything but Parley content. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let value: unknown;
  try {
    value = parseJson(bytesToUtf8(bytes));
  } catch (cause) {
    throw new ParleyClientError("content_invalid", { cause });
  }
  if (typeof value !== "object" || value === null || (value as { v?: unknown }).v !== VERSION) {
    throw new ParleyClientError("content_invalid");
  }
  const v = value as { sync?: unknown; batch?: unknown };
  if (v.sync !== undefined) return { kind: "sync", sync: syncOf(v.sync) };
  if (v.batch !== undefined) {
    if (!Array.isArray(v.batch)) throw new ParleyClientError("content_invalid");
    return {
      kind: "batch",
      items: v.batch.map((item: unknown) => {
        const stamp = readStamp(item);
        if (stamp === undefined) throw new ParleyClientError("content_invalid");
        const by = readOrigin((item as { by?: unknown }).by);
        return { content: readContent(item), stamp, ...(by !== undefined ? { by } : {}) };
      }),
    };
  }
  return { kind: "content", content: readContent(value), stamp: readStamp(value) };
}

/** The content of a plain message; `content_invalid` for anything else. */
export function decodeContent(bytes: Uint8Array): Content {
  const e = decodeEnvelope(bytes);
  if (e.kind !== "content") throw new ParleyClientError("content_invalid");
  return e.content;
}

function readContent(value: unknown): Content {
  if (typeof value !== "object" || value === null) throw new ParleyClientError("content_invalid");
  const v = value as { text?: unknown; data?: unknown; file?: unknown };
  if (typeof v.text === "string") return { text: v.text };
  if (v.file !== undefined) return { file: checkDescriptor(v.file) };
  if ("data" in v && v.data !== undefined) return { data: v.data };
  throw new ParleyClientError("content_invalid");
}

function readStamp(value: unknown): Stamp | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as { id?: unknown; sent?: unknown; sig?: unknown };
  if (v.id === undefined && v.sent === undefined) return undefined;
  if (!isMessageId(v.id) || typeof v.sent !== "number" || !Number.isSafeInteger(v.sent) || v.sent < 0)
    throw new ParleyClientError("content_invalid");
  if (v.sig !== undefined && (typeof v.sig !== "string" || v.sig.length > 128))
    throw new ParleyClientError("content_invalid");
  return { id: v.id, sent: v.sent, ...(v.sig !== undefined ? { sig: v.sig } : {}) };
}

function readOrigin(value: unknown): Origin | undefined {
  if (value === undefined) return undefined;
  const v = value as { userId?: unknown; deviceId?: unknown; username?: unknown };
  if (
    typeof value !== "object" ||
    value === null ||
    typeof v.userId !== "string" ||
    typeof v.deviceId !== "string" ||
    typeof v.username !== "string"
  )
    throw new ParleyClientError("content_invalid");
  return { userId: v.userId, deviceId: v.deviceId, username: v.username };
}

function syncOf(value: unknown): SyncNotice {
  if (typeof value !== "object" || value === null) throw new ParleyClientError("content_invalid");
  const v = value as { have?: unknown; pending?: unknown; reply?: unknown };
  const ids = (list: unknown): string[] => {
    if (!Array.isArray(list) || list.length > SYNC_IDS_MAX || !list.every(isMessageId))
      throw new ParleyClientError("content_invalid");
    return list;
  };
  return {
    have: ids(v.have),
    pending: ids(v.pending),
    ...(v.reply === true ? { reply: true as const } : {}),
  };
}
