/** A DeviceStore wrapper that seals every value with XChaCha20-Poly1305 under a key the platform holds (used by the terminal client). */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { ParleyClientError } from "./errors.js";
import type { DeviceStore } from "./store.js";

const VERSION = 1;
const KEY_BYTES = 32;
const NONCE_BYTES = 24;

/**
 * Encrypts every value of another DeviceStore with XChaCha20-Poly1305 under a 32-byte key that
 * the platform holds (a key file in the CLI; the browser uses its own WebCrypto store). The random
 * 192-bit nonce makes nonce reuse negligible without a counter to keep. The entry's key name is
 * the associated data, so a value moved to another key fails to open. Keys themselves (room ids,
 * user ids) stay readable: they are metadata the server knows anyway.
 *
 * Stored layout: version(1) || nonce(24) || ciphertext-with-tag.
 */
export class EncryptedStore implements DeviceStore {
  readonly #key: Uint8Array;

  constructor(
    private readonly inner: DeviceStore,
    key: Uint8Array,
  ) {
    if (!(key instanceof Uint8Array)) throw new TypeError("key must be a Uint8Array");
    if (key.length !== KEY_BYTES) throw new RangeError(`key must be ${KEY_BYTES} bytes`);
    this.#key = key.slice();
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const sealed = await this.inner.get(key);
    if (sealed === undefined) return undefined;
    if (sealed.length < 1 + NONCE_BYTES + 16 || sealed[0] !== VERSION) {
      throw new ParleyClientError("store_tampered");
    }
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    try {
      return xchacha20poly1305(this.#key, nonce, aad(key)).decrypt(sealed.subarray(1 + NONCE_BYTES));
    } catch (cause) {
      // One opaque error for every authentication failure.
      throw new ParleyClientError("store_tampered", { cause });
    }
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    const nonce = randomBytes(NONCE_BYTES);
    const ciphertext = xchacha20poly1305(this.#key, nonce, aad(key)).encrypt(value);
    const sealed = new Uint8Array(1 + NONCE_BYTES + ciphertext.length);
    sealed[0] = VERSION;
    sealed.set(nonce, 1);
    sealed.set(ciphertext, 1 + NONCE_BYTES);
    await this.inner.put(key, sealed);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  async clear(): Promise<void> {
    await this.inner.clear?.();
  }

  /** Wipes the key from memory; the store cannot be used afterwards. */
  destroy(): void {
    this.#key.fill(0);
  }
}

function aad(key: string): Uint8Array {
  return utf8ToBytes(`parley-store-v${VERSION}:${key}`);
}
