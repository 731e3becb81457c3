/**
 * How much a monotonic counter (one of /metrics') grew over the last window, from samples a
 * timer takes. The answer covers the window to within one sampling step; before a whole window
 * has passed it covers the time since the first sample. At most window/step + 2 samples are
 * kept.
 */
export class RateWindow {
  readonly #samples: { at: number; value: number }[] = [];
  readonly #read: () => number;
  readonly #windowMs: number;

  constructor(read: () => number, windowMs: number, now: number) {
    if (!(windowMs > 0)) throw new RangeError("windowMs must be > 0");
    this.#read = read;
    this.#windowMs = windowMs;
    this.#samples.push({ at: now, value: read() });
  }

  /** Records the counter's value now. */
  sample(now: number): void {
    this.#samples.push({ at: now, value: this.#read() });
    this.#prune(now);
  }

  /** The counter's growth since the newest sample at least a window old (or the oldest one). */
  growth(now: number): number {
    this.#prune(now);
    const base = this.#samples[0];
    return base === undefined ? 0 : Math.max(0, this.#read() - base.value);
  }

  #prune(now: number): void {
    const cutoff = now - this.#windowMs;
    while (this.#samples.length >= 2 && (this.#samples[1]?.at ?? Number.POSITIVE_INFINITY) <= cutoff) {
      this.#samples.shift();
    }
  }
}
