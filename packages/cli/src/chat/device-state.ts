// Opens, seals and erases `parley chat`'s per-server, per-user device state and the key that seals it.
import { randomBytes, scrypt } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EncryptedStore, isParleyClientError } from "@parley/client";
import { CliError, EXIT } from "../cli-error.js";
import { FileStore } from "./file-store.js";

/**
 * Where `parley chat` keeps a device's state (identity key, MLS group states, pinned contact
 * keys, the session) and the key that seals it. One FileStore per server and user under
 * `<config dir>/chat/<server>/`, wrapped in the SDK's EncryptedStore (XChaCha20-Poly1305). The
 * 32-byte key comes from:
 *   - a key file, `<config dir>/chat/device.key` (0600, made on first use): the default, as
 *     ssh keeps an unencrypted private key; it protects a copied state file, not a copied home;
 *   - or a passphrase (PARLEY_PASSPHRASE, or asked with --passphrase), stretched with scrypt
 *     (RFC 7914) under a random salt kept in the state file's `meta`.
 * A store keeps the kind of key it was made with. A sentinel value sealed at creation tells a
 * wrong passphrase (or key file) apart from a missing store before anything else is read.
 */
export const KEY_FILE = "device.key";
const KEY_BYTES = 32;
const CHECK_KEY = "store-check";
const CHECK_VALUE = "parley-device-state-v1";

/** scrypt cost: N = 2^15, r = 8, p = 1 (RFC 7914 §2; 32 MiB, a fraction of a second). */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;

export interface DeviceStateOptions {
  configDir: string;
  /** The server's origin, e.g. https://127.0.0.1:8443. */
  origin: string;
  username: string;
  /** Seal a new store with a passphrase instead of the key file. */
  usePassphrase: boolean;
  /** Asked when a passphrase is needed (new passphrase store, or an existing one). */
  passphrase: () => Promise<string>;
  /** scrypt cost; tests lower it. Default SCRYPT_PARAMS. */
  scryptParams?: { N: number; r: number; p: number };
}

export interface DeviceState {
  readonly store: EncryptedStore;
  readonly file: string;
  readonly sealedWith: "key-file" | "passphrase";
}

/** The directory of one server's device states. */
export function serverStateDir(configDir: string, origin: string): string {
  return join(configDir, "chat", slug(new URL(origin).host));
}

export function stateFile(configDir: string, origin: string, username: string): string {
  return join(serverStateDir(configDir, origin), `${slug(username.normalize("NFKC").toLowerCase())}.json`);
}

/** Opens (or creates) the sealed device state of `username` on `origin`. */
export async function openDeviceState(o: DeviceStateOptions): Promise<DeviceState> {
  const file = stateFile(o.configDir, o.origin, o.username);
  const inner = await FileStore.open(file);
  const meta = inner.meta;
  let key: Uint8Array;
  let sealedWith: DeviceState["sealedWith"];
  if (meta.key === "scrypt") {
    const params = readScryptMeta(meta, file);
    key = await stretch(await o.passphrase(), params.salt, params);
    sealedWith = "passphrase";
  } else if (meta.key === "key-file") {
    key = await readKeyFile(o.configDir, false);
    sealedWith = "key-file";
  } else if (meta.key === undefined) {
    if (o.usePassphrase) {
      const params = o.scryptParams ?? SCRYPT_PARAMS;
      const salt = randomBytes(16);
      key = await stretch(await o.passphrase(), salt, params);
      await inner.setMeta({ key: "scrypt", salt: salt.toString("base64"), ...params });
      sealedWith = "passphrase";
    } else {
      key = await readKeyFile(o.configDir, true);
      await inner.setMeta({ key: "key-file" });
      sealedWith = "key-file";
    }
  } else {
    throw new CliError(`${file}: unknown key kind; move the file away to start over`, EXIT.failed);
  }

  const store = new EncryptedStore(inner, key);
  key.fill(0);
  try {
    const check = await store.get(CHECK_KEY);
    if (check === undefined) await store.put(CHECK_KEY, new TextEncoder().encode(CHECK_VALUE));
  } catch (e) {
    if (!isParleyClientError(e, "store_tampered")) throw e;
    store.destroy();
    throw new CliError(
      sealedWith === "passphrase"
        ? `cannot open the device state of ${o.username}: wrong passphrase (or the file was altered)`
        : `cannot open the device state of ${o.username}: it was sealed with another key file (or altered)`,
      EXIT.failed,
    );
  }
  return { store, file, sealedWith };
}

/** The key file's 32 bytes; made (0600) when `create` and missing. Refused when others may read it. */
export async function readKeyFile(configDir: string, create: boolean): Promise<Uint8Array> {
  const dir = join(configDir, "chat");
  const file = join(dir, KEY_FILE);
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new CliError(
        `${file} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${file}`,
        EXIT.failed,
      );
    }
    const key = new Uint8Array(await readFile(file));
    if (key.length !== KEY_BYTES) throw new CliError(`${file} is not a ${KEY_BYTES}-byte key`, EXIT.failed);
    return key;
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT" || !create) {
      if ((e as { code?: string }).code === "ENOENT") {
        throw new CliError(
          `${file} is missing: the device state sealed with it cannot be opened`,
          EXIT.failed,
        );
      }
      throw e;
    }
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  try {
    await writeFile(file, key, { mode: 0o600, flag: "wx" });
  } catch (e) {
    // Another `parley chat` made it first: use theirs.
    if ((e as { code?: string }).code === "EEXIST") return readKeyFile(configDir, false);
    throw e;
  }
  return new Uint8Array(key);
}

function stretch(
  passphrase: string,
  salt: Uint8Array,
  params: { N: number; r: number; p: number },
): Promise<Uint8Array> {
  if (passphrase === "") throw new CliError("the passphrase is empty", EXIT.usage);
  const maxmem = 256 * params.N * params.r * params.p;
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize("NFKC"), salt, KEY_BYTES, { ...params, maxmem }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    ),
  );
}

function readScryptMeta(meta: Readonly<Record<string, unknown>>, file: string) {
  const { salt, N, r, p } = meta;
  const ok = (n: unknown, max: number): n is number =>
    Number.isInteger(n) && (n as number) > 0 && (n as number) <= max;
  if (typeof salt !== "string" || !ok(N, 2 ** 20) || !ok(r, 32) || !ok(p, 16)) {
    throw new CliError(`${file}: bad passphrase parameters; move the file away to start over`, EXIT.failed);
  }
  return { salt: Buffer.from(salt, "base64"), N, r, p };
}

/** A file-name-safe form of a host or user name, still readable. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]/g, (c) => `_${c.codePointAt(0)?.toString(16)}`);
}
