import type { DeviceStore } from "@parley/client";
import { MemoryStore } from "@parley/client";
import { type DBSchema, type IDBPDatabase, openDB } from "idb";
import { WebCryptoStore } from "./web-crypto-store.js";

/**
 * This browser's Parley data in IndexedDB, one namespace per account: the device's state (keys,
 * MLS group states, pins, session) and its message history (kept by default). Every value
 * is sealed by a WebCryptoStore under that account's non-extractable key, kept beside it. The
 * only clear values are the namespace names (usernames, which the server knows anyway) and the
 * settings record.
 */
interface ParleySchema extends DBSchema {
  values: { key: string; value: Uint8Array };
  keys: { key: string; value: CryptoKey };
  settings: { key: string; value: string };
}

const DB_NAME = "parley";
const DB_VERSION = 1;

let db: Promise<IDBPDatabase<ParleySchema>> | undefined;

function open(): Promise<IDBPDatabase<ParleySchema>> {
  db ??= openDB<ParleySchema>(DB_NAME, DB_VERSION, {
    upgrade(database) {
      database.createObjectStore("values");
      database.createObjectStore("keys");
      database.createObjectStore("settings");
    },
  });
  return db;
}

/** Whether this page can keep encrypted state: a secure context with WebCrypto and IndexedDB. */
export function canPersist(): boolean {
  return globalThis.isSecureContext && globalThis.crypto?.subtle !== undefined && "indexedDB" in globalThis;
}

/** One account's raw (sealed) values under `<namespace>/`. */
class IdbNamespace implements DeviceStore {
  constructor(private readonly prefix: string) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await open()).get("values", this.prefix + key);
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    await (await open()).put("values", value.slice(), this.prefix + key);
  }

  async delete(key: string): Promise<void> {
    await (await open()).delete("values", this.prefix + key);
  }

  async clear(): Promise<void> {
    await (await open()).delete("values", IDBKeyRange.bound(this.prefix, `${this.prefix}\uffff`));
  }
}

export interface AccountStore {
  readonly store: DeviceStore;
  /** False when this page cannot keep state (not a secure context): everything is in memory. */
  readonly persistent: boolean;
}

/** The sealed store of one account in this browser, created (with its key) on first use. */
export async function openAccountStore(username: string): Promise<AccountStore> {
  if (!canPersist()) return { store: new MemoryStore(), persistent: false };
  const name = namespace(username);
  const database = await open();
  let key = await database.get("keys", name);
  if (key === undefined) {
    key = await WebCryptoStore.generateKey();
    await database.put("keys", key, name);
  }
  return { store: new WebCryptoStore(new IdbNamespace(`${name}/`), key), persistent: true };
}

/**
 * Erases one account's data from this browser: its key first (so any value left behind by an
 * interrupted wipe is unreadable), then every value.
 */
export async function eraseAccount(username: string): Promise<void> {
  if (!canPersist()) return;
  const name = namespace(username);
  const database = await open();
  await database.delete("keys", name);
  const range = IDBKeyRange.bound(`${name}/`, `${name}/\uffff`);
  await database.delete("values", range);
}

export async function getSetting(key: string): Promise<string | undefined> {
  if (!canPersist()) return undefined;
  return (await open()).get("settings", key);
}

export async function setSetting(key: string, value: string | undefined): Promise<void> {
  if (!canPersist()) return;
  const database = await open();
  if (value === undefined) await database.delete("settings", key);
  else await database.put("settings", value, key);
}

/** Usernames are case-insensitive on the server; one namespace per account. */
function namespace(username: string): string {
  return `acct:${username.normalize("NFKC").toLowerCase()}`;
}
