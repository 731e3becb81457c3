import { type FilesInfo, fileTypeAllowed } from "@parley/protocol";

/**
 * What the page checks before an upload starts (issue 17): the server's size limit and its list
 * of allowed types, both from /api/info. The server checks again (413, 415); this is so a person
 * learns at once, before a byte leaves, rather than after a long upload.
 */

/** The server's limits as /api/info gives them: the largest file, and allowed types (`audio/*` a family). */
export type FilePolicy = Pick<FilesInfo, "maxBytes" | "types">;

/** A file as the page has it: File and Blob both fit. */
export interface FileFacts {
  readonly name: string;
  readonly type: string;
  readonly size: number;
}

export type FileCheck =
  | { readonly ok: true; readonly mime: string }
  | { readonly ok: false; readonly reason: "too_large" | "refused_type" | "empty"; readonly message: string };

/**
 * Types by extension, for the files a browser reports with no type (logs, Markdown, some
 * audio on some systems). Only types whose extension is unambiguous.
 */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  txt: "text/plain",
  log: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  opus: "audio/ogg",
  wav: "audio/wav",
  weba: "audio/webm",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  zip: "application/zip",
};

/** The file's MIME type: the browser's, else one from its extension, else octet-stream. */
export function mimeOf(file: Pick<FileFacts, "name" | "type">): string {
  const given = file.type.split(";")[0]!.trim().toLowerCase();
  if (given !== "") return given;
  const dot = file.name.lastIndexOf(".");
  const ext = dot < 0 ? "" : file.name.slice(dot + 1).toLowerCase();
  return BY_EXTENSION[ext] ?? "application/octet-stream";
}

/** Checks a file against the server's policy; the message says what to do about it. */
export function checkFile(file: FileFacts, policy: FilePolicy): FileCheck {
  const mime = mimeOf(file);
  if (file.size === 0) return { ok: false, reason: "empty", message: `${file.name} is empty.` };
  if (file.size > policy.maxBytes) {
    return {
      ok: false,
      reason: "too_large",
      message: `${file.name} is ${formatBytes(file.size)}; this server takes files up to ${formatBytes(policy.maxBytes)}.`,
    };
  }
  if (!fileTypeAllowed(mime, policy.types)) {
    return {
      ok: false,
      reason: "refused_type",
      message: `${file.name} is ${mime === "application/octet-stream" ? "of an unknown type" : `a ${mime} file`}, which this server does not take.`,
    };
  }
  return { ok: true, mime };
}

const UNITS = ["KB", "MB", "GB"] as const;

/** "532 bytes", "12.4 KB", "8 MB" (powers of 1024, as the server's limits are set). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, "")} ${UNITS[unit]}`;
}

/** "24 hours", "1 day" → how long the server keeps a file, as people say it (rounded down to a unit). */
export function formatKeep(seconds: number): string {
  const units: [number, string][] = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
  ];
  // Whole days only from two days on: "24 hours" reads better than "1 day" for the default.
  for (const [size, name] of units) {
    const n = Math.floor(seconds / size);
    if (n >= (size === 86_400 ? 2 : 1)) return `${n} ${name}${n === 1 ? "" : "s"}`;
  }
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}
