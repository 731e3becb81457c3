/** IDENT-4: the identity resets announced while this device was away, asked for when it connects. */
import { bytesToUtf8, utf8ToBytes } from "@noble/ciphers/utils.js";
import type { DeviceStore } from "./store.js";

/** The server's time (ms) at this device's last connection. */
export const RESETS_SEEN_KEY = "resets/connected-at";

export interface ResetCatchUpOptions {
  store: DeviceStore;
  /** The people sharing a room with this person whose reset was announced at or after `since`. */
  list: (since: number) => Promise<readonly string[]>;
  /** Looks one person up, as an `identity.reset` hint does; rejects only when the connection went. */
  check: (userId: string) => Promise<void>;
}

/**
 * The server pushes `identity.reset` only to the devices connected at that moment. A device
 * that was away asks, each time it connects, for the resets announced since its last connection
 * (by the server's clock, from `ready`), and looks those people up one after another: only
 * people who did reset, at most the server's cap (IDENTITY_RESETS_MAX), however many rooms and
 * contacts the device has. The time moves on only once every look-up ran, so a connection lost
 * halfway asks again on the next one. A device's first connection has nothing to catch up on.
 */
export class ResetCatchUp {
  constructor(private readonly o: ResetCatchUpOptions) {}

  /** This device connected; `serverTime` is the `ready` frame's. */
  async connected(serverTime: number): Promise<void> {
    const last = await this.#last();
    if (last !== undefined) for (const userId of await this.o.list(last)) await this.o.check(userId);
    if (last === undefined || serverTime > last)
      await this.o.store.put(RESETS_SEEN_KEY, utf8ToBytes(String(serverTime)));
  }

  async #last(): Promise<number | undefined> {
    const raw = await this.o.store.get(RESETS_SEEN_KEY);
    if (raw === undefined) return undefined;
    const text = bytesToUtf8(raw);
    const at = Number(text);
    return /^\d{1,16}$/.test(text) && Number.isSafeInteger(at) ? at : undefined;
  }
}
