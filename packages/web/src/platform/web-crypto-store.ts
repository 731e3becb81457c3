import type { DeviceStore } from "@parley/client";

const VERSION = 1;
const IV_BYTES = 12;
const encoder = new TextEncoder();

/**
 * Encrypts every value of another DeviceStore with AES-256-GCM under a non-extractable
 * WebCrypto key: the key object lives in IndexedDB, but its bytes cannot be read by this page's
 * scripts or copied out of the browser's profile as a usable key (Web Crypto API, "extractable").
 * The entry's name is the associated data, so a value moved to another name fails to open. A
 * random 96-bit IV per write is safe far beyond the number of writes one device makes
 * (NIST SP 800-38D §8.3: 2^32 invocations per key).
 *
 * Stored layout: version(1) || iv(12) || ciphertext-with-tag.
 */
export class WebCryptoStore implements DeviceStore {
  constructor(
    private readonly inner: DeviceStore,
    private readonly key: CryptoKey,
  ) {}

  /** A fresh key for a new device: AES-GCM 256, non-extractable. */
  static generateKey(): Promise<CryptoKey> {
    return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const sealed = await this.inner.get(key);
    if (sealed === undefined) return undefined;
    if (sealed.length < 1 + IV_BYTES + 16 || sealed[0] !== VERSION) throw new StoreTamperedError();
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: sealed.slice(1, 1 + IV_BYTES), additionalData: aad(key) },
        this.key,
        sealed.slice(1 + IV_BYTES),
      );
      return new Uint8Array(plain);
    } catch {
      throw new StoreTamperedError();
    }
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(key) }, this.key, value.slice()),
    );
    const sealed = new Uint8Array(1 + IV_BYTES + ciphertext.length);
    sealed[0] = VERSION;
    sealed.set(iv, 1);
    sealed.set(ciphertext, 1 + IV_BYTES);
    await this.inner.put(key, sealed);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  async clear(): Promise<void> {
    await this.inner.clear?.();
  }
}

export class StoreTamperedError extends Error {
  constructor() {
    super("A value in this browser's Parley store failed authentication.");
    this.name = "StoreTamperedError";
  }
}

function aad(key: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`parley-web-store-v${VERSION}:${key}`);
}
