/**
 * Reconnection delays: exponential backoff with "full jitter" (a uniformly random delay between
 * 0 and min(max, base * 2^attempt)), which spreads the reconnects of many clients after a server
 * restart instead of having them arrive in waves (Brooker, "Exponential Backoff And Jitter",
 * AWS Architecture Blog, 2015).
 */
export interface BackoffOptions {
  /** The ceiling of the first delay, in ms. Default 500. */
  baseMs?: number;
  /** No delay is longer than this, in ms. Default 30000. */
  maxMs?: number;
  /** Uniform random number in [0, 1). Default Math.random. */
  random?: () => number;
}

export const BACKOFF_DEFAULTS = Object.freeze({ baseMs: 500, maxMs: 30_000, random: Math.random });

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const o = { ...BACKOFF_DEFAULTS, ...options };
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError("attempt must be an integer >= 0");
  if (!(o.baseMs > 0)) throw new RangeError("baseMs must be > 0");
  if (!(o.maxMs >= o.baseMs)) throw new RangeError("maxMs must be >= baseMs");
  // 2^attempt overflows to Infinity long after the cap applies; min() keeps it finite.
  const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** attempt);
  const r = o.random();
  return Math.floor(Math.min(Math.max(r, 0), 1 - Number.EPSILON) * ceiling);
}

/** Counts consecutive failures; reset() after a success. */
export class Backoff {
  #attempt = 0;

  constructor(private readonly options: BackoffOptions = {}) {
    backoffDelay(0, options); // validates the options now, not at the first failure
  }

  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next try; each call counts one more failure. */
  next(): number {
    const delay = backoffDelay(this.#attempt, this.options);
    this.#attempt++;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
  }
}
