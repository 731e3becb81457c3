// The servers this user trusted and the CA fingerprint each presented first, like ssh's known_hosts.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * The servers this user has trusted, like ssh's known_hosts: for each server origin
 * (`https://host:port`), the SHA-256 fingerprint of the CA it presented the first time. Kept in
 * `<config dir>/known_servers.json`, mode 0600 in a 0700 directory:
 *
 *   { "version": 1, "servers": { "https://192.168.1.20:8443": { "caFingerprint": "AB:…", "pinnedAt": "…" } } }
 *
 * A file that cannot be read as this shape is an error, never a reason to start over: starting
 * over would trust whatever server answers next.
 */
export interface KnownServer {
  readonly caFingerprint: string;
  /** ISO 8601. */
  readonly pinnedAt: string;
}

export const KNOWN_SERVERS_FILE = "known_servers.json";
const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

export class KnownServersError extends Error {
  readonly code = "KNOWN_SERVERS_INVALID";
}

export class KnownServers {
  readonly #servers: Map<string, KnownServer>;

  private constructor(
    readonly file: string,
    servers: Map<string, KnownServer>,
  ) {
    this.#servers = servers;
  }

  /** Reads the pins in `configDir` (none yet when the file does not exist). */
  static async load(configDir: string): Promise<KnownServers> {
    const file = join(configDir, KNOWN_SERVERS_FILE);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return new KnownServers(file, new Map());
      throw e;
    }
    return new KnownServers(file, parse(text, file));
  }

  /** The pin for the origin of `url`. */
  get(url: string | URL): KnownServer | undefined {
    return this.#servers.get(originOf(url));
  }

  /** Pins (or re-pins) `caFingerprint` for the origin of `url`, and saves the file. */
  async pin(url: string | URL, caFingerprint: string): Promise<void> {
    if (!FINGERPRINT.test(caFingerprint))
      throw new TypeError(`not a SHA-256 fingerprint: "${caFingerprint}"`);
    this.#servers.set(originOf(url), { caFingerprint, pinnedAt: new Date().toISOString() });
    await this.#save();
  }

  async #save(): Promise<void> {
    const dir = join(this.file, "..");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const body = {
      version: 1,
      servers: Object.fromEntries([...this.#servers].sort(([a], [b]) => (a < b ? -1 : 1))),
    };
    // Written aside and renamed over: a crash never leaves half a file, and the mode is set at creation.
    const tmp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: "wx" });
      await rename(tmp, this.file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}

/** `https://Host:443/x` -> `https://host`: the key a server is pinned under. */
export function originOf(url: string | URL): string {
  return new URL(url).origin;
}

function parse(text: string, file: string): Map<string, KnownServer> {
  const invalid = (why: string) =>
    new KnownServersError(`${file} is not a valid known-servers file (${why}); fix or remove it`);
  let data: unknown;
  try {
    // Keys that could reach a prototype are dropped: the file may have been edited by hand.
    data = JSON.parse(text, (key, value: unknown) => (key === "__proto__" ? undefined : value));
  } catch {
    throw invalid("not JSON");
  }
  if (!isRecord(data) || data.version !== 1 || !isRecord(data.servers))
    throw invalid('no "version": 1 and "servers"');
  const out = new Map<string, KnownServer>();
  for (const [origin, entry] of Object.entries(data.servers)) {
    if (
      !isRecord(entry) ||
      typeof entry.caFingerprint !== "string" ||
      !FINGERPRINT.test(entry.caFingerprint)
    ) {
      throw invalid(`bad entry for ${origin}`);
    }
    let key: string;
    try {
      key = originOf(origin);
    } catch {
      throw invalid(`"${origin}" is not a URL`);
    }
    out.set(key, {
      caFingerprint: entry.caFingerprint,
      pinnedAt: typeof entry.pinnedAt === "string" ? entry.pinnedAt : "",
    });
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
