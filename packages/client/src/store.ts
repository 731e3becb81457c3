/**
 * Where a device keeps its state: identity key, KeyPackage private keys, MLS group states,
 * pinned contact keys, the session. Values are opaque bytes under string keys; platforms supply
 * the implementation and seal it so nothing is readable at rest: the browser keeps it in
 * IndexedDB behind packages/web/src/platform/web-crypto-store.ts (AES-GCM under a
 * non-extractable WebCrypto key), the CLI in a file behind EncryptedStore.
 */
export interface DeviceStore {
  /** The value stored under `key`, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores a copy of `value` under `key`, replacing any previous value. Durable once resolved. */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Removes every key (a device removed from its account wipes itself, IDENT-5). Optional. */
  clear?(): Promise<void>;
}

/** A DeviceStore in memory, for tests and for sessions that must leave nothing behind. */
export class MemoryStore implements DeviceStore {
  readonly #values = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = this.#values.get(key);
    return v === undefined ? undefined : v.slice();
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.#values.set(key, value.slice());
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(key);
  }

  async clear(): Promise<void> {
    this.#values.clear();
  }

  /** Every key, for tests and diagnostics. */
  keys(): string[] {
    return [...this.#values.keys()];
  }

  /** Raw access for tests that check what is at rest. */
  raw(key: string): Uint8Array | undefined {
    return this.#values.get(key);
  }
}
