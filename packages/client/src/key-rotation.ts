/** Automatic self-updates (RFC 9420 §12.4 post-compromise security): after so many messages sent or so many days in a group, and after a key-change review. */
import { bytesToUtf8, utf8ToBytes } from "@noble/ciphers/utils.js";
import type { Scheduler } from "./scheduler.js";
import type { DeviceStore } from "./store.js";

/** When this device refreshes its keys in a group on its own. */
export interface KeyRotationPolicy {
  /** After this many messages sent by this device in the group since its keys were fresh. Default 100. */
  readonly afterMessages: number;
  /** After this long (ms) with the same keys in the group. Default 7 days. */
  readonly afterMs: number;
}

export const KEY_ROTATION_DEFAULTS: KeyRotationPolicy = Object.freeze({
  afterMessages: 100,
  afterMs: 7 * 24 * 60 * 60 * 1000,
});

/** How often the age of every group's keys is looked at while connected. */
const AGE_CHECK_MS = 60 * 60 * 1000;
/** Thresholds are lowered by up to this share, drawn once per group: members do not collide. */
const JITTER = 0.2;
/** An update that is due waits up to this long (random), so devices that came online together spread out. */
const MAX_DELAY_MS = 30_000;

/** Kept per group in the device store: how old this device's keys are there. */
interface KeyAge {
  /** When this device's keys in the group were last fresh (join, create, own update), ms. */
  since: number;
  /** Messages sent since then. */
  sent: number;
  /** This group's jitter in [0, 1): its thresholds are (1 - JITTER * jitter) of the policy's. */
  jitter: number;
}

export interface KeyRotationOptions {
  readonly store: DeviceStore;
  readonly scheduler: Scheduler;
  readonly now: () => number;
  readonly random: () => number;
  readonly policy: KeyRotationPolicy;
  /** Commits a self-update in the room; false when it could not now (no group, no connection). */
  update(roomId: string): Promise<boolean>;
  /** The rooms where this device holds a group now. */
  groupRooms(): Promise<readonly string[]>;
}

const storeKey = (roomId: string) => `key-age/${roomId}`;

/**
 * Decides when this device commits a self-update in a group, so a copy of its old state (a
 * stolen laptop's disk, a leaked backup) stops reading the group soon: after `afterMessages`
 * sent or `afterMs` with the same keys, whichever comes first, each lowered by a per-group
 * random share so that members who joined together do not all commit at once. The counters
 * live in the device store and survive restarts.
 */
export class KeyRotation {
  readonly #o: KeyRotationOptions;
  /** Rooms with an update scheduled or running: one at a time per room. */
  readonly #due = new Set<string>();
  /** Each connection starts one chain of age checks; older chains stop at their next run. */
  #chain = 0;
  /** Reads and writes of the records, one at a time, so concurrent sends all count. */
  #records: Promise<unknown> = Promise.resolve();

  constructor(options: KeyRotationOptions) {
    this.#o = options;
  }

  /** This device sent a message in the room: counts it, and schedules an update when due. */
  sent(roomId: string): Promise<void> {
    return this.#serially(async () => {
      const age = await this.#load(roomId);
      age.sent += 1;
      await this.#save(roomId, age);
      if (age.sent >= this.#threshold(this.#o.policy.afterMessages, age)) this.#schedule(roomId);
    });
  }

  /** This device's keys in the room are fresh (it updated, created or joined the group). */
  refreshed(roomId: string): Promise<void> {
    return this.#serially(() =>
      this.#save(roomId, { since: this.#o.now(), sent: 0, jitter: this.#o.random() }),
    );
  }

  /** This device left the room's group: its counters go. */
  forget(roomId: string): Promise<void> {
    return this.#serially(() => this.#o.store.delete(storeKey(roomId)));
  }

  /** Updates now (after a small random delay) in each of the rooms, e.g. after a key-change review. */
  soon(roomIds: Iterable<string>): void {
    for (const roomId of roomIds) this.#schedule(roomId);
  }

  /** Connected: looks at every group's age now and then every hour while this connection lasts. */
  connected(): void {
    const chain = ++this.#chain;
    const check = async (): Promise<void> => {
      if (chain !== this.#chain) return;
      await this.checkAges();
      this.#o.scheduler.later(AGE_CHECK_MS, check);
    };
    this.#o.scheduler.later(this.#delay(), check);
  }

  /** Schedules an update in every group whose keys are older than the policy allows. */
  async checkAges(): Promise<void> {
    const now = this.#o.now();
    for (const roomId of await this.#o.groupRooms()) {
      const age = await this.#serially(() => this.#load(roomId));
      if (now - age.since >= this.#threshold(this.#o.policy.afterMs, age)) this.#schedule(roomId);
    }
  }

  #serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#records.then(task);
    this.#records = run.catch(() => undefined);
    return run;
  }

  #threshold(limit: number, age: KeyAge): number {
    return Math.max(1, limit * (1 - JITTER * age.jitter));
  }

  #delay(): number {
    return Math.floor(this.#o.random() * MAX_DELAY_MS);
  }

  #schedule(roomId: string): void {
    if (this.#due.has(roomId)) return;
    this.#due.add(roomId);
    this.#o.scheduler.later(this.#delay(), async () => {
      try {
        if (await this.#o.update(roomId)) await this.refreshed(roomId);
      } finally {
        this.#due.delete(roomId);
      }
    });
  }

  /** The room's record; a group seen for the first time starts fresh now. */
  async #load(roomId: string): Promise<KeyAge> {
    const raw = await this.#o.store.get(storeKey(roomId));
    if (raw !== undefined) {
      try {
        const v = JSON.parse(bytesToUtf8(raw)) as Partial<KeyAge>;
        if (typeof v.since === "number" && typeof v.sent === "number" && typeof v.jitter === "number") {
          return { since: v.since, sent: v.sent, jitter: v.jitter };
        }
      } catch {
        // A damaged record starts afresh: at worst one update comes later than it would have.
      }
    }
    const fresh = { since: this.#o.now(), sent: 0, jitter: this.#o.random() };
    await this.#save(roomId, fresh);
    return fresh;
  }

  async #save(roomId: string, age: KeyAge): Promise<void> {
    await this.#o.store.put(storeKey(roomId), utf8ToBytes(JSON.stringify(age)));
  }
}
