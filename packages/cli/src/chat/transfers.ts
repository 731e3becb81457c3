/**
 * The terminal client's side of files: reading a file to send and writing one received, a
 * piece at a time (never the whole file in memory), and the progress bar and sizes it prints.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, open, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { ChatAttachment, FileSink, FileSource } from "@parley/client";
import mime from "mime-types";

/** A file on disk to send: its bytes as a FileSource, its name and MIME type. */
export interface LocalFile {
  readonly source: FileSource;
  readonly name: string;
  readonly type: string;
  close(): Promise<void>;
}

/** Opens a regular file for sending; the type comes from its extension (octet-stream if unknown). */
export async function openLocalFile(path: string): Promise<LocalFile> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  const handle = await open(path, "r");
  const size = info.size;
  return {
    name: basename(path),
    type: mime.lookup(path) || "application/octet-stream",
    source: {
      size,
      async read(offset, length) {
        const buf = Buffer.alloc(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await handle.read(buf, got, length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return buf.subarray(0, got);
      },
    },
    close: () => handle.close(),
  };
}

/**
 * A download's destination: written to a hidden temporary file beside it (mode 0600) and
 * renamed into place only once every chunk and the SHA-256 checked out, so a failed or
 * tampered download never leaves a file that looks complete.
 */
export interface LocalSink extends FileSink {
  readonly path: string;
  /** Moves the finished file into place. */
  finish(): Promise<void>;
  /** Removes what was written. */
  abort(): Promise<void>;
}

export async function createLocalSink(path: string): Promise<LocalSink> {
  const dir = join(path, "..");
  const temp = join(dir, `.${basename(path)}.${randomBytes(4).toString("hex")}.part`);
  const handle: FileHandle = await open(
    temp,
    constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY,
    0o600,
  );
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    path,
    async write(bytes) {
      let done = 0;
      while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
    },
    async finish() {
      await close();
      await rename(temp, path);
    },
    async abort() {
      await close();
      await rm(temp, { force: true });
    },
  };
}

/**
 * Where `/get` saves a file: `target` itself, or (when it is a directory, or absent: the
 * working directory) the sender's file name made safe, with " (1)", " (2)"... before the
 * extension when that name is taken. Never overwrites.
 */
export async function destinationFor(name: string, target: string | undefined, cwd: string): Promise<string> {
  let dir = cwd;
  if (target !== undefined) {
    const info = await stat(target).catch(() => undefined);
    if (info === undefined) return target;
    if (!info.isDirectory()) throw new Error(`${target} exists; give another name`);
    dir = target;
  }
  const safe = safeName(name);
  const dot = safe.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [safe.slice(0, dot), safe.slice(dot)] : [safe, ""];
  for (let i = 0; i < 1000; i++) {
    const candidate = join(dir, i === 0 ? safe : `${stem} (${i})${ext}`);
    if ((await stat(candidate).catch(() => undefined)) === undefined) return candidate;
  }
  throw new Error(`too many files named ${safe} in ${dir}`);
}

/** A file name from another person, made harmless: no path, no control characters, no leading dot. */
export function safeName(name: string): string {
  const cleaned = basename(name.replaceAll("\\", "/"))
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f-\u009f/]/g, "_")
    .replace(/^\.+/, "")
    .trim()
    .slice(0, 200);
  return cleaned === "" ? "file" : cleaned;
}

/** "1.2 MB", "640 B" (SI units, as file managers show them). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** "[########------------]  40%". */
export function progressBar(done: number, total: number, width = 20): string {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%`;
}

/** What a message line says for an attachment: "[file] report.pdf (1.2 MB, application/pdf)". */
export function describeAttachment(a: ChatAttachment): string {
  const kind = a.viewOnce === true ? (a.opened === true ? "view once, opened" : "view once") : "file";
  const extra = [formatBytes(a.size), a.type];
  if (a.durationMs !== undefined) extra.push(`${Math.round(a.durationMs / 1000)} s`);
  if (a.width !== undefined && a.height !== undefined) extra.push(`${a.width}x${a.height}`);
  return `[${kind}] ${a.name} (${extra.join(", ")})`;
}
