// A DeviceStore in one JSON file, written atomically with owner-only permissions.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { DeviceStore } from "@parley/client";

/**
 * A DeviceStore in one JSON file, for the terminal client. Values arrive already sealed by
 * EncryptedStore, so the file holds ciphertext under readable keys:
 *
 *   { "version": 1, "meta": { … }, "entries": { "<key>": "<base64>" } }
 *
 * Every put rewrites the file aside and renames it over (atomic on POSIX), mode 0600 from
 * creation in a 0700 directory, so a crash leaves the old or the new state, never half of one.
 * Writes are serialised and coalesced: puts that arrive while a write runs share the next one.
 * `meta` is plain data about the store itself (how its key is derived), kept beside the entries.
 */
export class FileStore implements DeviceStore {
  readonly #entries: Map<string, string>;
  #meta: Record<string, unknown>;
  #writing: Promise<void> = Promise.resolve();
  #pending: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    entries: Map<string, string>,
    meta: Record<string, unknown>,
  ) {
    this.#entries = entries;
    this.#meta = meta;
  }

  /** Opens the store in `file`; a missing file is an empty store (created on the first write). */
  static async open(file: string): Promise<FileStore> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return new FileStore(file, new Map(), {});
      throw e;
    }
    const { entries, meta } = parse(text, file);
    return new FileStore(file, entries, meta);
  }

  get meta(): Readonly<Record<string, unknown>> {
    return this.#meta;
  }

  async setMeta(meta: Record<string, unknown>): Promise<void> {
    this.#meta = { ...meta };
    await this.#flush();
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = this.#entries.get(key);
    return v === undefined ? undefined : new Uint8Array(Buffer.from(v, "base64"));
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.#entries.set(key, Buffer.from(value).toString("base64"));
    await this.#flush();
  }

  async delete(key: string): Promise<void> {
    if (!this.#entries.delete(key)) return;
    await this.#flush();
  }

  async clear(): Promise<void> {
    if (this.#entries.size === 0) return;
    this.#entries.clear();
    await this.#flush();
  }

  /** Resolves once everything changed so far is on disk. */
  #flush(): Promise<void> {
    this.#pending ??= this.#writing.then(
      () => this.#write(),
      () => this.#write(),
    );
    return this.#pending;
  }

  async #write(): Promise<void> {
    this.#pending = undefined;
    const body = JSON.stringify({
      version: 1,
      meta: this.#meta,
      entries: Object.fromEntries([...this.#entries].sort(([a], [b]) => (a < b ? -1 : 1))),
    });
    const run = (async () => {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        await writeFile(tmp, body, { mode: 0o600, flag: "wx" });
        await rename(tmp, this.file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    })();
    this.#writing = run;
    await run;
  }
}

export class FileStoreError extends Error {
  readonly code = "DEVICE_STATE_INVALID";
}

function parse(text: string, file: string): { entries: Map<string, string>; meta: Record<string, unknown> } {
  const invalid = (why: string) =>
    new FileStoreError(`${file} is not a Parley device state file (${why}); move it away to start over`);
  let data: unknown;
  try {
    data = JSON.parse(text, (key, value: unknown) => (key === "__proto__" ? undefined : value));
  } catch {
    throw invalid("not JSON");
  }
  if (!isRecord(data) || data.version !== 1 || !isRecord(data.entries)) throw invalid("unknown layout");
  const entries = new Map<string, string>();
  for (const [key, value] of Object.entries(data.entries)) {
    if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw invalid(`bad entry ${key}`);
    entries.set(key, value);
  }
  return { entries, meta: isRecord(data.meta) ? data.meta : {} };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
