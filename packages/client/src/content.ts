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
 *   { "v": 1, "text": "yes", "reply": <MessageRef>, "mentions": ["<user id>"], ... }  CHAT-1, CHAT-5
 *   { "v": 1, "reaction": { "to": <MessageRef>, "emoji": "👍", "on": true }, ... }    CHAT-2
 *   { "v": 1, "edit": { "to": <MessageRef>, "text": "fixed" }, ... }                   CHAT-3
 *   { "v": 1, "delete": { "to": <MessageRef> }, ... }                                   CHAT-4
 *   { "v": 1, "sync": <Sync> }                 RCPT-4: what a (re)connected device holds and awaits
 *   { "v": 1, "batch": [<stamped content>] }   RCPT-5: messages sent again to a device that lacked them
 *
 * `id` and `sent` (RCPT-3) are chosen by the sender at compose time and kept by every
 * redelivery; content from older clients has neither and is still read.
 */
export type Content =
  | TextContent
  | { readonly data: unknown }
  | { readonly reaction: ReactionContent }
  | { readonly edit: EditContent }
  | { readonly delete: DeleteContent }
  /** An encrypted file in the server's blob store: its id, key, hash and what to show (files.ts). */
  | { readonly file: FileDescriptor };

/** RCPT-3: one message, by its sender's user id and the id its sender gave it. */
export interface MessageRef {
  readonly id: string;
  readonly from: string;
}

/** A text; CHAT-1 a reply quotes `reply`; CHAT-5 `mentions` lists the user ids it names with @. */
export interface TextContent {
  readonly text: string;
  readonly reply?: MessageRef;
  readonly mentions?: readonly string[];
}

/** CHAT-2: the sender's reaction `emoji` to a message, added (`on`) or taken back. */
export interface ReactionContent {
  readonly to: MessageRef;
  readonly emoji: string;
  readonly on: boolean;
}

/** CHAT-3: the new text of one of the sender's own messages. */
export interface EditContent {
  readonly to: MessageRef;
  readonly text: string;
  readonly mentions?: readonly string[];
}

/** CHAT-4: one of the sender's own messages, deleted for everyone. */
export interface DeleteContent {
  readonly to: MessageRef;
}

/** Bounds on what CHAT-1..5 content may carry (longer lists or strings are not Parley content). */
export const MENTIONS_MAX = 64;
export const EMOJI_MAX_CHARS = 32;
const USER_ID_MAX_CHARS = 128;

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

/** The content's own fields, checked, in a fixed order (RCPT-6 signs this form). */
function body(content: Content): Record<string, unknown> {
  if ("text" in content) {
    if (typeof content.text !== "string") throw new TypeError("text must be a string");
    return {
      text: content.text,
      ...(content.reply !== undefined ? { reply: refOf(content.reply) } : {}),
      ...(content.mentions !== undefined ? { mentions: mentionsOf(content.mentions) } : {}),
    };
  }
  if ("reaction" in content) {
    const { to, emoji, on } = content.reaction;
    if (!isEmoji(emoji)) throw new TypeError(`emoji must be 1 to ${EMOJI_MAX_CHARS} characters`);
    if (typeof on !== "boolean") throw new TypeError("reaction.on must be a boolean");
    return { reaction: { to: refOf(to), emoji, on } };
  }
  if ("edit" in content) {
    const { to, text, mentions } = content.edit;
    if (typeof text !== "string") throw new TypeError("edit.text must be a string");
    return {
      edit: { to: refOf(to), text, ...(mentions !== undefined ? { mentions: mentionsOf(mentions) } : {}) },
    };
  }
  if ("delete" in content) return { delete: { to: refOf(content.delete.to) } };
  if ("file" in content) return { file: checkDescriptor(content.file) };
  if (content.data === undefined) throw new TypeError("data must be a JSON value");
  return { data: content.data };
}

function refOf(ref: MessageRef): MessageRef {
  if (!isMessageRef(ref)) throw new TypeError("a message reference needs a message id and a user id");
  return { id: ref.id, from: ref.from };
}

function mentionsOf(ids: readonly string[]): string[] {
  if (!isMentions(ids)) throw new TypeError(`mentions must be at most ${MENTIONS_MAX} user ids`);
  return [...ids];
}

function isUserId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= USER_ID_MAX_CHARS;
}

function isMessageRef(value: unknown): value is MessageRef {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { id?: unknown; from?: unknown };
  return isMessageId(v.id) && isUserId(v.from);
}

function isMentions(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.length <= MENTIONS_MAX && value.every(isUserId);
}

/** Any emoji, as one or a few code points (flags, skin tones, ZWJ sequences); never empty or blank. */
function isEmoji(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "" && [...value].length <= EMOJI_MAX_CHARS;
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
  const v = value as {
    text?: unknown;
    data?: unknown;
    reply?: unknown;
    mentions?: unknown;
    reaction?: unknown;
    edit?: unknown;
    delete?: unknown;
    file?: unknown;
  };
  const invalid = () => new ParleyClientError("content_invalid");
  const mentions = (m: unknown) => {
    if (m === undefined) return {};
    if (!isMentions(m)) throw invalid();
    return { mentions: [...m] };
  };
  if (typeof v.text === "string") {
    if (v.reply !== undefined && !isMessageRef(v.reply)) throw invalid();
    return {
      text: v.text,
      ...(v.reply !== undefined ? { reply: { id: v.reply.id, from: v.reply.from } } : {}),
      ...mentions(v.mentions),
    };
  }
  if (v.reaction !== undefined) {
    const r = v.reaction as { to?: unknown; emoji?: unknown; on?: unknown } | null;
    if (
      typeof r !== "object" ||
      r === null ||
      !isMessageRef(r.to) ||
      !isEmoji(r.emoji) ||
      typeof r.on !== "boolean"
    )
      throw invalid();
    return { reaction: { to: { id: r.to.id, from: r.to.from }, emoji: r.emoji, on: r.on } };
  }
  if (v.edit !== undefined) {
    const e = v.edit as { to?: unknown; text?: unknown; mentions?: unknown } | null;
    if (typeof e !== "object" || e === null || !isMessageRef(e.to) || typeof e.text !== "string")
      throw invalid();
    return { edit: { to: { id: e.to.id, from: e.to.from }, text: e.text, ...mentions(e.mentions) } };
  }
  if (v.delete !== undefined) {
    const d = v.delete as { to?: unknown } | null;
    if (typeof d !== "object" || d === null || !isMessageRef(d.to)) throw invalid();
    return { delete: { to: { id: d.to.id, from: d.to.from } } };
  }
  if (v.file !== undefined) return { file: checkDescriptor(v.file) };
  if ("data" in v && v.data !== undefined) return { data: v.data };
  throw invalid();
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
