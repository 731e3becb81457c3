/**
 * Per-user frame rate limit. A token bucket is a few arithmetic operations, synchronous and
 * allocation-free, which matters on the relay's hot path; rate-limiter-flexible (used for the
 * login defences) is promise-based and fixed-window, so it does not fit here.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** Users holding a bucket. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes `cost` tokens (one by default; work that costs more is charged more); returns 0 when
   * allowed, else the milliseconds until that many tokens are there. `cost` must not exceed the
   * burst, or it would never be allowed.
   */
  take(key: string, cost = 1): number {
    const now = this.now();
    let b = this.#buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.ratePerSecond) / 1000);
      b.at = now;
    }
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return 0;
    }
    return Math.ceil(((cost - b.tokens) * 1000) / this.ratePerSecond);
  }

  /**
   * Drops the key's bucket (its user's last connection closed) once it has refilled, so the map
   * does not only grow. A bucket not yet full is kept: reconnecting must not buy a fresh burst.
   * What stays is bounded by the number of accounts, and the next forget of a full one drops it.
   */
  forget(key: string): void {
    const b = this.#buckets.get(key);
    if (b === undefined) return;
    const tokens = b.tokens + ((this.now() - b.at) * this.ratePerSecond) / 1000;
    if (tokens >= this.burst) this.#buckets.delete(key);
  }
}
