/** Pins each person's identity key on first sight and tracks their trust state (verified, unverified, changed). */
import { bytesToUtf8, equalBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { base64ToBytes, bytesToBase64 } from "./base64.js";
import { parseJson } from "./json.js";
import { KeyedMutex } from "./lock.js";
import type { DeviceStore } from "./store.js";

/**
 * What the user knows about a person's identity key:
 * - `verified`: safety numbers compared (markVerified), no change since;
 * - `unverified`: pinned on first sight (trust on first use) or accepted after a change;
 * - `changed`: the identity key changed after the user had verified it; clients block sending
 *   until the user reviews it (markVerified or acceptKeyChange);
 * - `changed_unverified`: the identity key changed for a person the user had not verified;
 *   clients show a notice and do not block.
 * A new device certified by the pinned identity key changes none of this.
 */
export type TrustState = "verified" | "unverified" | "changed" | "changed_unverified";

/** A person's identity key is not the one pinned: the real alarm. */
export interface IdentityChange {
  readonly userId: string;
  /** The device whose certificate showed the new key. */
  readonly deviceId: string;
  readonly identityKey: Uint8Array;
  readonly previousKey: Uint8Array;
  /** True when the user had verified the previous key (the state is then `changed`). */
  readonly wasVerified: boolean;
}

/** A device certified by a person's pinned identity key, seen for the first time: no alarm. */
export interface DeviceAdded {
  readonly userId: string;
  readonly deviceId: string;
}

export interface PinEvents {
  identityChanged(change: IdentityChange): void;
  deviceAdded(event: DeviceAdded): void;
}

interface PinRecord {
  identityKey: Uint8Array;
  /**
   * Identity keys this person had before, already reported and reviewed: leaves they
   * certified may linger in groups after a reset, and seeing one again is not a new alarm.
   */
  retired: string[];
  /** Device ids certified by identityKey seen so far. Stored as a list: an id may be `__proto__`. */
  devices: Set<string>;
  /** Device ids the person removed (IDENT-5), by a revocation their identity key signed. */
  revoked: Set<string>;
  verified: boolean;
  changed: "changed" | "changed_unverified" | null;
}

const pinKey = (userId: string) => `pins/${userId}`;
/** The people this device has verified, for handing the marks to a linked device. */
const VERIFIED_INDEX = "pins-index/verified";
const INDEX_LOCK = "\u0000index";
const RECORD_VERSION = 2;

/**
 * Trust per person (docs/SECURITY.md, "One identity per person"): the first identity key seen
 * for a person is pinned; later devices it certifies are reported quietly (`deviceAdded`), and
 * another identity key is the alarm (`identityChanged`). Someone never seen before has nothing
 * pinned, so they can never be "changed".
 *
 * Records of the earlier per-device pins (version 1) pinned device keys, which say nothing
 * about identity keys: an unverified one is dropped (the identity key is pinned on first sight
 * as for anyone new), and a verified one becomes `changed` at the first identity key seen, so
 * whoever had compared safety numbers compares the new ones before trusting again.
 */
export class KeyPins {
  readonly #lock = new KeyedMutex();

  constructor(
    private readonly store: DeviceStore,
    private readonly events: PinEvents,
  ) {}

  /**
   * Records that `deviceId`'s verified certificate names `identityKey` for `userId`; returns
   * the trust state after it, and reports what changed.
   */
  observe(userId: string, identityKey: Uint8Array, deviceId: string): Promise<TrustState> {
    return this.#lock.run(userId, async () => {
      const loaded = await this.#load(userId);
      if (loaded === undefined || loaded === "legacy_unverified") {
        await this.#save(userId, fresh(identityKey, deviceId, false, null));
        return "unverified";
      }
      if (loaded === "legacy_verified") {
        await this.#save(userId, fresh(identityKey, deviceId, false, "changed"));
        return "changed";
      }
      const record = loaded;
      if (equalBytes(record.identityKey, identityKey)) {
        if (!record.devices.has(deviceId) && !record.revoked.has(deviceId)) {
          record.devices.add(deviceId);
          await this.#save(userId, record);
          this.events.deviceAdded({ userId, deviceId });
        }
        return stateOf(record);
      }
      if (record.retired.includes(bytesToBase64(identityKey))) return stateOf(record);
      const change: IdentityChange = {
        userId,
        deviceId,
        identityKey,
        previousKey: record.identityKey,
        wasVerified: record.verified || record.changed === "changed",
      };
      const next = fresh(identityKey, deviceId, false, change.wasVerified ? "changed" : "changed_unverified");
      next.retired = [...record.retired, bytesToBase64(record.identityKey)].slice(-8);
      await this.#save(userId, next);
      this.events.identityChanged(change);
      return stateOf(next);
    });
  }

  /**
   * IDENT-5: `userId`'s identity key `identityKey` signed that `deviceId` is removed (the caller
   * checked the signature). Recorded when the key is the one pinned; true when it is news.
   */
  revoke(userId: string, deviceId: string, identityKey: Uint8Array): Promise<boolean> {
    return this.#lock.run(userId, async () => {
      const record = await this.#load(userId);
      if (typeof record !== "object" || !equalBytes(record.identityKey, identityKey)) return false;
      if (record.revoked.has(deviceId)) return false;
      record.revoked.add(deviceId);
      await this.#save(userId, record);
      return true;
    });
  }

  /** IDENT-5: true when the person removed this device: it is never trusted again. */
  async isRevoked(userId: string, deviceId: string): Promise<boolean> {
    const record = await this.#lock.run(userId, () => this.#load(userId));
    return typeof record === "object" && record.revoked.has(deviceId);
  }

  /**
   * Pins this account's own identity key as verified (it comes from this device, not the
   * server), with `deviceId`, this device, as one seen: a device is no news to itself.
   */
  pinOwn(userId: string, identityKey: Uint8Array, deviceId: string): Promise<void> {
    return this.#lock.run(userId, async () => {
      const record = await this.#load(userId);
      if (typeof record === "object" && equalBytes(record.identityKey, identityKey)) {
        if (record.devices.has(deviceId)) return;
        record.devices.add(deviceId);
        await this.#save(userId, record);
        return;
      }
      const next = fresh(identityKey, deviceId, true, null);
      // After this account's own reset, its old devices' leaves are no alarm.
      if (typeof record === "object") next.retired = [...record.retired, bytesToBase64(record.identityKey)];
      await this.#save(userId, next);
    });
  }

  async state(userId: string): Promise<TrustState> {
    const record = await this.#lock.run(userId, () => this.#load(userId));
    if (record === "legacy_verified") return "verified";
    if (record === undefined || record === "legacy_unverified") return "unverified";
    return stateOf(record);
  }

  /** The pinned identity key, if any. */
  async identityKey(userId: string): Promise<Uint8Array | undefined> {
    const record = await this.#lock.run(userId, () => this.#load(userId));
    return typeof record === "object" ? record.identityKey : undefined;
  }

  /**
   * The user compared safety numbers over `identityKey` (the one pinned when they looked):
   * it is trusted. A key that changed meanwhile is not marked.
   */
  markVerified(userId: string, identityKey?: Uint8Array): Promise<void> {
    return this.#lock.run(userId, async () => {
      const record = await this.#load(userId);
      if (typeof record !== "object") {
        if (identityKey === undefined) return;
        await this.#save(userId, fresh(identityKey, undefined, true, null));
        return;
      }
      if (identityKey !== undefined && !equalBytes(identityKey, record.identityKey)) return;
      record.verified = true;
      record.changed = null;
      await this.#save(userId, record);
    });
  }

  /**
   * The user saw an identity change and chose to go on without comparing safety numbers: the
   * key pinned now stops being reported as changed, and the person is `unverified`.
   */
  acknowledge(userId: string): Promise<void> {
    return this.#lock.run(userId, async () => {
      const record = await this.#load(userId);
      if (typeof record !== "object" || record.changed === null) return;
      record.changed = null;
      record.verified = false;
      await this.#save(userId, record);
    });
  }

  async #loadRaw(userId: string): Promise<unknown> {
    const raw = await this.store.get(pinKey(userId));
    return raw === undefined ? undefined : parseJson(bytesToUtf8(raw));
  }

  async #load(userId: string): Promise<PinRecord | "legacy_verified" | "legacy_unverified" | undefined> {
    const value = (await this.#loadRaw(userId)) as {
      v?: unknown;
      identityKey?: unknown;
      devices?: unknown;
      verified?: unknown;
      changed?: unknown;
    } | null;
    if (value === null || value === undefined) return undefined;
    if (value.v === 1) return value.verified === true ? "legacy_verified" : "legacy_unverified";
    if (value.v !== RECORD_VERSION || typeof value.identityKey !== "string" || !Array.isArray(value.devices))
      return undefined;
    const retired = (value as { retired?: unknown }).retired;
    return {
      identityKey: base64ToBytes(value.identityKey),
      retired: Array.isArray(retired) ? retired.filter((k): k is string => typeof k === "string") : [],
      devices: new Set((value.devices as unknown[]).filter((d): d is string => typeof d === "string")),
      revoked: new Set(
        (Array.isArray((value as { revoked?: unknown }).revoked)
          ? (value as { revoked: unknown[] }).revoked
          : []
        ).filter((d): d is string => typeof d === "string"),
      ),
      verified: value.verified === true,
      changed: value.changed === "changed" || value.changed === "changed_unverified" ? value.changed : null,
    };
  }

  async #save(userId: string, record: PinRecord): Promise<void> {
    const stored = {
      v: RECORD_VERSION,
      identityKey: bytesToBase64(record.identityKey),
      retired: record.retired,
      devices: [...record.devices],
      revoked: [...record.revoked],
      verified: record.verified,
      changed: record.changed,
    };
    await this.store.put(pinKey(userId), utf8ToBytes(JSON.stringify(stored)));
    await this.#index(userId, record.verified);
  }

  /** The people marked verified on this device and the identity keys they were verified with. */
  async verifiedMarks(): Promise<{ userId: string; identityKey: Uint8Array }[]> {
    const out: { userId: string; identityKey: Uint8Array }[] = [];
    for (const userId of await this.#lock.run(INDEX_LOCK, () => this.#readIndex())) {
      const record = await this.#lock.run(userId, () => this.#load(userId));
      if (typeof record === "object" && record.verified)
        out.push({ userId, identityKey: record.identityKey });
    }
    return out;
  }

  async #readIndex(): Promise<string[]> {
    const raw = await this.store.get(VERIFIED_INDEX);
    const value = raw === undefined ? [] : parseJson(bytesToUtf8(raw));
    return Array.isArray(value) ? value.filter((u): u is string => typeof u === "string") : [];
  }

  #index(userId: string, verified: boolean): Promise<void> {
    return this.#lock.run(INDEX_LOCK, async () => {
      const list = await this.#readIndex();
      const has = list.includes(userId);
      if (has === verified) return;
      const next = verified ? [...list, userId] : list.filter((u) => u !== userId);
      await this.store.put(VERIFIED_INDEX, utf8ToBytes(JSON.stringify(next)));
    });
  }
}

function fresh(
  identityKey: Uint8Array,
  deviceId: string | undefined,
  verified: boolean,
  changed: PinRecord["changed"],
): PinRecord {
  return {
    identityKey,
    retired: [],
    devices: new Set(deviceId === undefined ? [] : [deviceId]),
    revoked: new Set(),
    verified,
    changed,
  };
}

function stateOf(record: PinRecord): TrustState {
  if (record.changed !== null) return record.changed;
  return record.verified ? "verified" : "unverified";
}
