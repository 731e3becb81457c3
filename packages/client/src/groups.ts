/** The MLS group state of each room, cached in memory and written to the device store on every change. */
import { utf8ToBytes } from "@noble/ciphers/utils.js";
import {
  type createMlsConfig,
  exportGroupState,
  type GroupState,
  groupEpoch,
  groupSuite,
  importGroupState,
} from "@parley/crypto";
import { canonicalRoomId, type MlsSuite } from "@parley/protocol";
import type { Timers } from "./platform.js";
import type { DeviceStore } from "./store.js";

const groupKey = (roomId: string) => `group/${roomId}`;

type ClientConfig = ReturnType<typeof createMlsConfig>;

/** The MLS group id of a room: the UTF-8 bytes of its canonical id (the delivery service checks it). */
export function groupIdFor(roomId: string): Uint8Array {
  return utf8ToBytes(canonicalRoomId(roomId));
}

/**
 * The MLS group state of each room this device is in, cached in memory and written to the
 * store on every change (a state is a value: each operation returns a new one, and the old one
 * must not be used again). Callers serialise access per room; waiters learn of every change.
 */
export class GroupStates {
  readonly #cache = new Map<string, GroupState | null>();
  /** check -> cancel */
  readonly #watchers = new Map<() => void, () => void>();

  constructor(
    private readonly store: DeviceStore,
    private readonly config: ClientConfig,
    private readonly timers: Timers,
  ) {}

  async get(roomId: string): Promise<GroupState | undefined> {
    const id = canonicalRoomId(roomId);
    const cached = this.#cache.get(id);
    if (cached !== undefined) return cached ?? undefined;
    const raw = await this.store.get(groupKey(id));
    const state = raw === undefined ? undefined : importGroupState(raw, this.config);
    this.#cache.set(id, state ?? null);
    return state;
  }

  async epoch(roomId: string): Promise<bigint | undefined> {
    const state = await this.get(roomId);
    return state === undefined ? undefined : groupEpoch(state);
  }

  /** The MLS cipher suite of the room's group (MLS-9), or undefined when this device is not in it. */
  async suite(roomId: string): Promise<MlsSuite | undefined> {
    const state = await this.get(roomId);
    return state === undefined ? undefined : groupSuite(state);
  }

  async put(roomId: string, state: GroupState): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.store.put(groupKey(id), exportGroupState(state));
    this.#cache.set(id, state);
    this.#notify();
  }

  async delete(roomId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.store.delete(groupKey(id));
    this.#cache.set(id, null);
    this.#notify();
  }

  /**
   * Resolves true once `done` holds for the room's state (checked now and after every change),
   * false after `timeoutMs`.
   */
  waitFor(
    roomId: string,
    done: (state: GroupState | undefined) => boolean,
    timeoutMs: number,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        if (!this.#watchers.delete(check)) return;
        this.timers.clearTimeout(timer);
        resolve(result);
      };
      const check = () => {
        void this.get(roomId).then(
          (state) => {
            if (done(state)) finish(true);
          },
          () => finish(false),
        );
      };
      const timer = this.timers.setTimeout(() => finish(false), timeoutMs);
      this.#watchers.set(check, () => finish(false));
      check();
    });
  }

  /** Resolves every waiter with false now. */
  cancelWaiters(): void {
    for (const cancel of [...this.#watchers.values()]) cancel();
  }

  #notify(): void {
    for (const check of [...this.#watchers.keys()]) check();
  }
}
