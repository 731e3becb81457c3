/** This device's long-term secrets in the store (identity key, KeyPackage private halves) and the seq marks of its two server queues. */
import { bytesToHex, bytesToUtf8, randomBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import {
  type DeviceIdentity,
  decodeKeyPackageBundle,
  encodeKeyPackageBundle,
  exportDeviceIdentity,
  generateDeviceIdentity,
  generateIdentityKey,
  generateKeyPackages,
  generateLastResortKeyPackage,
  type IdentityKeyPair,
  identityKeyFromSeed,
  importDeviceIdentity,
  isParleyCryptoError,
  type KeyPackageBundle,
  welcomeKeyPackageRefs,
} from "@parley/crypto";
import { DEFAULT_MLS_SUITE, isMlsSuite, type MlsSuite } from "@parley/protocol";
import { bytesToBase64 } from "./base64.js";
import { ParleyClientError } from "./errors.js";
import type { SeqStore } from "./inbox.js";
import type { DeviceStore } from "./store.js";

const IDENTITY_KEY = "device/identity";
/** The person's identity key seed (docs/SECURITY.md, "One identity per person"), sealed like the rest. */
const PERSON_KEY = "identity/key";
/** The device id a device uses before it has an identity (while linking). */
const PENDING_ID_KEY = "device/pending-id";
const REGISTERED_KEY = "device/registered";
const SEQ_KEY = "device/handshake-seq";
const QUEUE_SEQ_KEY = "device/offline-queue-seq";
/** The suite of the KeyPackages this device last published (MLS-9). */
const SUITE_KEY = "device/key-package-suite";
const kpKey = (ref: Uint8Array) => `kp/${bytesToHex(ref)}`;

/** KeyPackages per upload (MLS-2, MLS-3). */
export const KEY_PACKAGE_BATCH = 50;

export interface Registration {
  deviceId: string;
  signatureKey: string;
  keyPackages: string[];
  lastResort: string;
}

/**
 * This device's long-term secrets in the store: its Ed25519 identity (one per device, bound
 * to one account) and the private halves of the KeyPackages it published, kept until a Welcome
 * uses them (RFC 9420 §16.8: single-use packages are deleted after use, the last resort is kept).
 */
export class DeviceKeys {
  #identity: DeviceIdentity | undefined;
  /**
   * The server's suite (MLS-9, from the `ready` frame): new groups and new KeyPackages are made
   * in it. Groups this device is already in keep their own.
   */
  suite: MlsSuite = DEFAULT_MLS_SUITE;

  constructor(
    private readonly store: DeviceStore,
    private readonly now: () => number,
  ) {
    this.handshakeMark = storedSeq(store, SEQ_KEY, -1);
    this.queueMark = storedSeq(store, QUEUE_SEQ_KEY, 0);
  }

  get identity(): DeviceIdentity | undefined {
    return this.#identity;
  }

  #pendingId: string | undefined;

  /** The id this device authenticates with before it has an identity (a link in progress). */
  get pendingId(): string | undefined {
    return this.#pendingId;
  }

  /**
   * Loads this store's device identity for `userId`, if it has one. A store that belongs to
   * another account is refused; one written before devices had certificates is dropped (the
   * device starts anew).
   */
  async load(userId: string): Promise<DeviceIdentity | undefined> {
    if (this.#identity !== undefined && this.#identity.userId === userId) return this.#identity;
    const raw = await this.store.get(IDENTITY_KEY);
    if (raw === undefined) return undefined;
    let identity: DeviceIdentity;
    try {
      identity = importDeviceIdentity(raw);
    } catch (e) {
      if (!(isParleyCryptoError(e, "invalid_state") && raw[0] === 1)) throw e;
      await this.#forgetDevice();
      return undefined;
    }
    if (identity.userId !== userId) throw new ParleyClientError("store_account_mismatch");
    this.#identity = identity;
    return identity;
  }

  /**
   * Loads this store's device identity, or creates one under the identity key the store holds,
   * making that key first if there is none (a person's first device).
   */
  async ensure(userId: string): Promise<DeviceIdentity> {
    const loaded = await this.load(userId);
    if (loaded !== undefined) return loaded;
    let key = await this.identityKey();
    if (key === undefined) {
      key = generateIdentityKey();
      await this.saveIdentityKey(key);
    }
    return this.create(userId, key);
  }

  /** The person's identity key this store holds, if any. */
  async identityKey(): Promise<IdentityKeyPair | undefined> {
    const raw = await this.store.get(PERSON_KEY);
    return raw === undefined ? undefined : identityKeyFromSeed(raw);
  }

  async saveIdentityKey(key: IdentityKeyPair): Promise<void> {
    await this.store.put(PERSON_KEY, key.privateKey);
  }

  /** A device id for a device still without an identity; the same one until it has one. */
  async pending(): Promise<string> {
    if (this.#pendingId !== undefined) return this.#pendingId;
    const raw = await this.store.get(PENDING_ID_KEY);
    const id = raw !== undefined ? bytesToUtf8(raw) : newDeviceId();
    if (raw === undefined) await this.store.put(PENDING_ID_KEY, utf8ToBytes(id));
    this.#pendingId = id;
    return id;
  }

  /**
   * Creates this device's identity for `userId`, certified by `identityKey` (with the pending
   * id if there is one, so a linked device keeps the id it linked with).
   */
  async create(userId: string, identityKey: IdentityKeyPair): Promise<DeviceIdentity> {
    const deviceId = await this.pending();
    const identity = await generateDeviceIdentity({ userId, deviceId }, identityKey, this.now());
    await this.store.put(IDENTITY_KEY, exportDeviceIdentity(identity));
    await this.store.delete(PENDING_ID_KEY);
    this.#pendingId = undefined;
    this.#identity = identity;
    return identity;
  }

  /** Replaces the identity with a new device (new id, new key), e.g. after device_key_mismatch. */
  async recreate(userId: string, identityKey?: IdentityKeyPair): Promise<DeviceIdentity> {
    const key = identityKey ?? (await this.identityKey());
    if (key === undefined) throw new ParleyClientError("identity_link_required");
    await this.#forgetDevice();
    return this.create(userId, key);
  }

  async #forgetDevice(): Promise<void> {
    this.#identity = undefined;
    await this.store.delete(IDENTITY_KEY);
    await this.store.delete(REGISTERED_KEY);
    // Both queues number a device's entries from 1 (MLS-8, RELAY-6): the old marks would skip
    // the new device's first entries.
    await this.store.delete(SEQ_KEY);
    await this.store.delete(QUEUE_SEQ_KEY);
    await this.store.delete(SUITE_KEY);
  }

  /**
   * IDENT-5: this device was removed from its account: every secret it holds goes (the
   * person's identity key too), and with a store that can, everything else in it.
   */
  async wipe(): Promise<void> {
    await this.#forgetDevice();
    await this.store.delete(PERSON_KEY);
    await this.store.delete(PENDING_ID_KEY);
    this.#pendingId = undefined;
    await this.store.clear?.();
  }

  async isRegistered(): Promise<boolean> {
    return (await this.store.get(REGISTERED_KEY)) !== undefined;
  }

  async markRegistered(): Promise<void> {
    await this.store.put(REGISTERED_KEY, Uint8Array.of(1));
    await this.markPublished(this.suite);
  }

  /** The suite of the KeyPackages on the server: x25519 for a device registered before MLS-9. */
  async publishedSuite(): Promise<MlsSuite> {
    const raw = await this.store.get(SUITE_KEY);
    const suite = raw === undefined ? DEFAULT_MLS_SUITE : bytesToUtf8(raw);
    return isMlsSuite(suite) ? suite : DEFAULT_MLS_SUITE;
  }

  async markPublished(suite: MlsSuite): Promise<void> {
    await this.store.put(SUITE_KEY, utf8ToBytes(suite));
  }

  /**
   * The last handshake-queue entry (MLS-8 `seq`) this device applied: entries the server sends
   * again because their ack was lost are then skipped, also after a restart. -1 for none.
   */
  readonly handshakeMark: SeqStore;

  /** The last offline-queue entry (RELAY-6 `seq`) this device handled. 0 for none. */
  readonly queueMark: SeqStore;

  /** A device.register body: KEY_PACKAGE_BATCH packages plus a last resort, private halves stored first. */
  async registration(identity: DeviceIdentity): Promise<Registration> {
    const keyPackages = await this.newKeyPackages(identity, KEY_PACKAGE_BATCH);
    const lastResort = await this.newLastResort(identity);
    return {
      deviceId: identity.deviceId,
      signatureKey: bytesToBase64(identity.signaturePublicKey),
      keyPackages,
      lastResort: bytesToBase64(lastResort.keyPackage),
    };
  }

  /** A new last-resort KeyPackage in the server's suite, its private half stored first. */
  async newLastResort(identity: DeviceIdentity): Promise<KeyPackageBundle> {
    const lastResort = await generateLastResortKeyPackage(identity, { now: this.now, suite: this.suite });
    await this.#keep(lastResort);
    return lastResort;
  }

  /** New single-use KeyPackages (base64), their private halves stored before they are returned. */
  async newKeyPackages(identity: DeviceIdentity, count: number): Promise<string[]> {
    const bundles = await generateKeyPackages(identity, count, { now: this.now, suite: this.suite });
    for (const b of bundles) await this.#keep(b);
    return bundles.map((b) => bytesToBase64(b.keyPackage));
  }

  /** The stored bundle a Welcome is addressed to, if any. */
  async bundleFor(welcome: Uint8Array): Promise<KeyPackageBundle | undefined> {
    for (const ref of welcomeKeyPackageRefs(welcome)) {
      const raw = await this.store.get(kpKey(ref));
      if (raw !== undefined) return decodeKeyPackageBundle(raw);
    }
    return undefined;
  }

  /** A used single-use package is deleted (its init key must not be used twice); the last resort stays. */
  async consumed(bundle: KeyPackageBundle): Promise<void> {
    if (!bundle.lastResort) await this.store.delete(kpKey(bundle.ref));
  }

  async #keep(bundle: KeyPackageBundle): Promise<void> {
    await this.store.put(kpKey(bundle.ref), encodeKeyPackageBundle(bundle));
  }
}

function newDeviceId(): string {
  return bytesToBase64(randomBytes(12)).replace(/\+/g, "-").replace(/\//g, "_");
}

function storedSeq(store: DeviceStore, key: string, none: number): SeqStore {
  return {
    async load() {
      const raw = await store.get(key);
      if (raw === undefined) return none;
      const n = Number(bytesToUtf8(raw));
      return Number.isSafeInteger(n) ? n : none;
    },
    save: (seq) => store.put(key, utf8ToBytes(String(seq))),
  };
}
