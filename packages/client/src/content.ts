/** Encodes and decodes what travels inside an MLS application message (versioned JSON: text or structured data). */
import { bytesToUtf8, utf8ToBytes } from "@noble/ciphers/utils.js";
import { ParleyClientError } from "./errors.js";
import { parseJson } from "./json.js";

/**
 * What travels inside an MLS application message: UTF-8 JSON, versioned so clients can add
 * kinds later. The server never sees it; its `id`, `ts` and `from` come from the relay frame
 * and the MLS sender.
 *
 *   { "v": 1, "text": "hello" }          a text message
 *   { "v": 1, "data": <any JSON> }       a structured payload (reactions, receipts, ...)
 */
export type Content = { readonly text: string } | { readonly data: unknown };

const VERSION = 1;

export function encodeContent(content: string | Content): Uint8Array {
  const c: Content = typeof content === "string" ? { text: content } : content;
  if ("text" in c) {
    if (typeof c.text !== "string") throw new TypeError("text must be a string");
    return utf8ToBytes(JSON.stringify({ v: VERSION, text: c.text }));
  }
  if (c.data === undefined) throw new TypeError("data must be a JSON value");
  return utf8ToBytes(JSON.stringify({ v: VERSION, data: c.data }));
}

/** Throws ParleyClientError `content_invalid` for anything else. */
export function decodeContent(bytes: Uint8Array): Content {
  let value: unknown;
  try {
    value = parseJson(bytesToUtf8(bytes));
  } catch (cause) {
    throw new ParleyClientError("content_invalid", { cause });
  }
  if (typeof value !== "object" || value === null || (value as { v?: unknown }).v !== VERSION) {
    throw new ParleyClientError("content_invalid");
  }
  const v = value as { text?: unknown; data?: unknown };
  if (typeof v.text === "string") return { text: v.text };
  if ("data" in v && v.data !== undefined) return { data: v.data };
  throw new ParleyClientError("content_invalid");
}
