/**
 * Encrypted files (docs/PROTOCOL.md, "Files"): the HTTP shapes of the blob store and the type
 * rules clients and server share, so a client refuses what the server would before uploading.
 * The server stores ciphertext only; the key, the name and the plaintext hash travel in the
 * MLS message.
 */
import { type Static, Type } from "typebox";
import { RoomIdSchema } from "./common.js";

/** PARLEY_FILE_MAX_BYTES may not exceed this (1 GiB). */
export const FILE_MAX_BYTES_LIMIT = 1_073_741_824;
/** A file id: 128 random bits as 32 lower-case hex digits. */
export const FILE_ID_PATTERN = "^[0-9a-f]{32}$";
/** A MIME type as clients declare it (`type/subtype`, parameters allowed). */
export const FILE_TYPE_MAX_LENGTH = 255;

/**
 * The types a server allows unless its operator says otherwise: text, PDF, PNG, JPEG, GIF,
 * WebP, common audio and video, zip. Never HTML or SVG: a blob is served inert anyway, but
 * active content has no business in a file store. Common aliases are listed too (browsers and
 * file-type tables disagree on `audio/wav`, `audio/wave`, `audio/x-wav`).
 */
export const DEFAULT_FILE_TYPES: readonly string[] = Object.freeze([
  "text/plain",
  "text/csv",
  "text/markdown",
  "application/pdf",
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "audio/mpeg",
  "audio/mp4",
  "audio/aac",
  "audio/x-aac",
  "audio/ogg",
  "audio/webm",
  "audio/wav",
  "audio/wave",
  "audio/x-wav",
  "audio/flac",
  "audio/x-flac",
  "video/mp4",
  "video/webm",
  "video/ogg",
  "video/quicktime",
  "application/zip",
]);

const ESSENCE = /^([a-z0-9][a-z0-9!#$&^_.+-]{0,126})\/([a-z0-9][a-z0-9!#$&^_.+-]{0,126})$/;

/** A MIME type's essence (`type/subtype`, lower case, parameters dropped), or undefined if malformed. */
export function mimeEssence(type: string): string | undefined {
  if (typeof type !== "string" || type.length > FILE_TYPE_MAX_LENGTH) return undefined;
  const essence = type.split(";", 1)[0]!.trim().toLowerCase();
  return ESSENCE.test(essence) ? essence : undefined;
}

/** Whether `type` is on `allowed` (entries `type/subtype` or `type/*`). */
export function fileTypeAllowed(type: string, allowed: readonly string[]): boolean {
  const essence = mimeEssence(type);
  if (essence === undefined) return false;
  const major = `${essence.split("/", 1)[0]}/*`;
  return allowed.some((a) => {
    const entry = a.toLowerCase();
    return entry === essence || entry === major;
  });
}

/** What /api/info says about files (absent from servers before files). */
export const FilesInfo = Type.Object({
  /** PARLEY_FILES: off means no uploads, and clients hide attaching. */
  enabled: Type.Boolean(),
  /** Largest plaintext file, bytes. */
  maxBytes: Type.Integer({ minimum: 0 }),
  /** How long the server keeps a file after its upload started, seconds. */
  ttlSeconds: Type.Integer({ minimum: 1 }),
  /** Allowed MIME types (`type/subtype` or `type/*`). */
  types: Type.Array(Type.String()),
  /** Bytes one account may hold in unexpired files at once. */
  quotaBytes: Type.Integer({ minimum: 0 }),
});
export type FilesInfo = Static<typeof FilesInfo>;

/** POST /api/files: announce an upload to a room (the uploader must be a member). */
export const FileCreateRequest = Type.Object({
  roomId: RoomIdSchema,
  /** The plaintext size in bytes; the server expects exactly sealedSize(size) bytes of ciphertext. */
  size: Type.Integer({ minimum: 0, maximum: FILE_MAX_BYTES_LIMIT }),
  /** The declared MIME type, checked against the allowed list (415 otherwise). */
  type: Type.String({ minLength: 3, maxLength: FILE_TYPE_MAX_LENGTH }),
  /** View once: members of the room may delete it (the recipient's client does after opening). */
  once: Type.Optional(Type.Boolean()),
});
export type FileCreateRequest = Static<typeof FileCreateRequest>;

/** Answer to POST /api/files (201) and GET /api/files/:id/upload. */
export const FileUploadState = Type.Object({
  id: Type.String({ pattern: FILE_ID_PATTERN }),
  /** Ciphertext bytes the server expects in all. */
  length: Type.Integer({ minimum: 0 }),
  /** Ciphertext bytes the server holds: the next PATCH starts here. */
  offset: Type.Integer({ minimum: 0 }),
  /** When the server deletes the file (ms since the epoch). */
  expiresAt: Type.Integer(),
});
export type FileUploadState = Static<typeof FileUploadState>;
