/** IDENT-4 hints (`identity.reset`) turned into look-ups of the person's devices, spaced out. */
import { defaultTimers, type Timers } from "./platform.js";

/** A person's devices are looked up at most once in this long, however many hints come. */
export const RESET_CHECK_SPACING_MS = 5_000;
/** People waiting for a look-up, at most; hints about more are dropped until some have run. */
export const RESET_CHECKS_WAITING_MAX = 64;

export interface ResetChecksOptions {
  /** Default: the global timers. */
  timers?: Timers;
  /** Default: Date.now. */
  now?: () => number;
  /** Default: RESET_CHECK_SPACING_MS. */
  spacingMs?: number;
  /** Default: RESET_CHECKS_WAITING_MAX. */
  waitingMax?: number;
}

/**
 * The server pushes `identity.reset {userId}` to everyone who shares a room with a person whose
 * new identity key just got its first device (IDENT-4). It is only a hint, and the server could
 * send a burst of them: each person is looked up once at a time, a hint about someone already
 * waiting is folded into that look-up, and a hint that comes within the spacing after one ran
 * waits for the spacing to pass, so no hint is lost and no burst of hints makes a burst of
 * requests.
 */
export class ResetChecks {
  readonly #check: (userId: string) => void;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #spacingMs: number;
  readonly #waitingMax: number;
  /** Person -> the timer of their look-up. */
  readonly #waiting = new Map<string, unknown>();
  /** Person -> when their last look-up started. */
  readonly #last = new Map<string, number>();

  constructor(check: (userId: string) => void, options: ResetChecksOptions = {}) {
    const o = {
      timers: defaultTimers,
      now: () => Date.now(),
      spacingMs: RESET_CHECK_SPACING_MS,
      waitingMax: RESET_CHECKS_WAITING_MAX,
      ...options,
    };
    this.#check = check;
    this.#timers = o.timers;
    this.#now = o.now;
    this.#spacingMs = o.spacingMs;
    this.#waitingMax = o.waitingMax;
  }

  /** People with a look-up waiting. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** The server says `userId` reset their identity: look them up soon. */
  hint(userId: string): void {
    if (this.#waiting.has(userId) || this.#waiting.size >= this.#waitingMax) return;
    const now = this.#now();
    this.#forgetBefore(now - this.#spacingMs);
    const last = this.#last.get(userId);
    const wait = last === undefined ? 0 : Math.max(0, last + this.#spacingMs - now);
    const timer = this.#timers.setTimeout(() => {
      this.#waiting.delete(userId);
      this.#last.set(userId, this.#now());
      this.#check(userId);
    }, wait);
    this.#waiting.set(userId, timer);
  }

  /** Drops every waiting look-up (the client closed). */
  clear(): void {
    for (const timer of this.#waiting.values()) this.#timers.clearTimeout(timer);
    this.#waiting.clear();
    this.#last.clear();
  }

  #forgetBefore(time: number): void {
    for (const [userId, at] of this.#last) if (at <= time) this.#last.delete(userId);
  }
}
