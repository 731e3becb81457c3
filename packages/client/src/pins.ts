/** Pins contacts' device keys on first sight and tracks their trust state (verified, unverified, changed). */
import { bytesToUtf8, equalBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { base64ToBytes, bytesToBase64 } from "./base64.js";
import { parseJson } from "./json.js";
import { KeyedMutex } from "./lock.js";
import type { DeviceStore } from "./store.js";

/**
 * What the user knows about a contact's keys: `verified` after markVerified (safety number
 * compared) with no change since, `unverified` when the keys were only pinned on first sight
 * (trust on first use), `changed` when a key changed or a device appeared after pinning and the
 * user has not verified again.
 */
export type TrustState = "verified" | "unverified" | "changed";

export interface KeyChange {
  readonly userId: string;
  readonly deviceId: string;
  /** `new_device`: a device id not seen before; `key_changed`: a known device with another key. */
  readonly kind: "new_device" | "key_changed";
  readonly key: Uint8Array;
  readonly previousKey: Uint8Array | undefined;
}

interface PinRecord {
  /** deviceId -> Ed25519 public key. Stored as pairs: a device id may be any URL-safe word, `__proto__` included. */
  devices: Map<string, Uint8Array>;
  verified: boolean;
  changed: boolean;
}

const pinKey = (userId: string) => `pins/${userId}`;

/**
 * Key pinning (DESIGN.md, "identity"): the first identity keys seen for a user are pinned;
 * afterwards a new device or a changed key is reported and the user becomes `changed` until
 * markVerified. This is what exposes a server that hands out keys it controls.
 */
export class KeyPins {
  readonly #lock = new KeyedMutex();

  constructor(
    private readonly store: DeviceStore,
    private readonly onChange: (change: KeyChange) => void,
  ) {}

  /** Records the keys seen for a user's devices; returns the changes (also reported to onChange). */
  observe(userId: string, devices: readonly { deviceId: string; key: Uint8Array }[]): Promise<KeyChange[]> {
    return this.#lock.run(userId, async () => {
      const record = await this.#load(userId);
      const changes: KeyChange[] = [];
      if (record === undefined) {
        if (devices.length === 0) return changes;
        const fresh: PinRecord = { devices: new Map(), verified: false, changed: false };
        for (const d of devices) fresh.devices.set(d.deviceId, d.key);
        await this.#save(userId, fresh);
        return changes;
      }
      for (const d of devices) {
        const previousKey = record.devices.get(d.deviceId);
        if (previousKey !== undefined && equalBytes(previousKey, d.key)) continue;
        record.devices.set(d.deviceId, d.key);
        changes.push({
          userId,
          deviceId: d.deviceId,
          kind: previousKey === undefined ? "new_device" : "key_changed",
          key: d.key,
          previousKey,
        });
      }
      if (changes.length === 0) return changes;
      record.verified = false;
      record.changed = true;
      await this.#save(userId, record);
      for (const c of changes) this.onChange(c);
      return changes;
    });
  }

  async state(userId: string): Promise<TrustState> {
    const record = await this.#lock.run(userId, () => this.#load(userId));
    if (record?.verified === true) return "verified";
    return record?.changed === true ? "changed" : "unverified";
  }

  /** The user compared safety numbers: the keys pinned now are trusted. */
  markVerified(userId: string): Promise<void> {
    return this.#lock.run(userId, async () => {
      const record = (await this.#load(userId)) ?? { devices: new Map(), verified: false, changed: false };
      record.verified = true;
      record.changed = false;
      await this.#save(userId, record);
    });
  }

  /**
   * The user saw a key change and chose to go on without comparing safety numbers: the keys
   * pinned now stop being reported as changed, and the contact is `unverified` (never `verified`).
   */
  acknowledge(userId: string): Promise<void> {
    return this.#lock.run(userId, async () => {
      const record = await this.#load(userId);
      if (record === undefined || !record.changed) return;
      record.changed = false;
      record.verified = false;
      await this.#save(userId, record);
    });
  }

  /** The pinned keys, deviceId -> key. */
  async pinned(userId: string): Promise<Map<string, Uint8Array>> {
    const record = await this.#lock.run(userId, () => this.#load(userId));
    return new Map(record?.devices ?? []);
  }

  async #load(userId: string): Promise<PinRecord | undefined> {
    const raw = await this.store.get(pinKey(userId));
    if (raw === undefined) return undefined;
    const value = parseJson(bytesToUtf8(raw)) as {
      v?: unknown;
      devices?: unknown;
      verified?: unknown;
      changed?: unknown;
    };
    if (value === null || value.v !== 1 || !Array.isArray(value.devices)) return undefined;
    const devices = new Map<string, Uint8Array>();
    for (const pair of value.devices as unknown[]) {
      if (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") {
        devices.set(pair[0], base64ToBytes(pair[1]));
      }
    }
    return { devices, verified: value.verified === true, changed: value.changed === true };
  }

  async #save(userId: string, record: PinRecord): Promise<void> {
    const stored = {
      v: 1,
      devices: [...record.devices].map(([id, key]) => [id, bytesToBase64(key)]),
      verified: record.verified,
      changed: record.changed,
    };
    await this.store.put(pinKey(userId), utf8ToBytes(JSON.stringify(stored)));
  }
}
