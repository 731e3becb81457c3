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

  /** Takes one token; returns 0 when allowed, else the milliseconds until a token is there. */
  take(key: string): number {
    const now = this.now();
    let b = this.#buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.ratePerSecond) / 1000);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) * 1000) / this.ratePerSecond);
  }

  forget(key: string): void {
    this.#buckets.delete(key);
  }
}
