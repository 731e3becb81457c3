/**
 * A latency histogram with logarithmic buckets (1 % wide) over microseconds, from 1 µs to
 * about ten minutes. Node's own `perf_hooks.createHistogram()` is HDR-based and exact enough,
 * but it cannot be serialised, so histograms from several generator processes could not be
 * merged; this one is a plain array of counts that crosses IPC and merges by addition.
 */

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** ceil(log(600e6 µs) / log(1.01)) + 1: ten minutes is far beyond any bounded run. */
const BUCKETS = 2040;

/** The serialisable form: [bucket, count] pairs for non-empty buckets, plus exact extremes. */
export interface HistogramData {
  readonly buckets: readonly (readonly [number, number])[];
  readonly count: number;
  readonly minUs: number;
  readonly maxUs: number;
  readonly sumUs: number;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;
  #sum = 0;

  /** Records one latency in microseconds; values below 1 µs count as 1 µs. */
  record(us: number): void {
    const v = Math.max(1, us);
    const i = Math.min(BUCKETS - 1, Math.ceil(Math.log(v) / LOG_GROWTH));
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  add(data: HistogramData): void {
    for (const [i, n] of data.buckets) this.#counts[i] = (this.#counts[i] ?? 0) + n;
    this.#count += data.count;
    this.#sum += data.sumUs;
    if (data.count > 0) {
      this.#min = Math.min(this.#min, data.minUs);
      this.#max = Math.max(this.#max, data.maxUs);
    }
  }

  toData(): HistogramData {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) {
      const n = this.#counts[i] ?? 0;
      if (n > 0) buckets.push([i, n]);
    }
    return {
      buckets,
      count: this.#count,
      minUs: this.#count > 0 ? this.#min : 0,
      maxUs: this.#max,
      sumUs: this.#sum,
    };
  }

  static from(data: HistogramData): LatencyHistogram {
    const h = new LatencyHistogram();
    h.add(data);
    return h;
  }
}

/** Upper edge of a bucket, in µs: a percentile read from it overstates by at most 1 %. */
function bucketValue(i: number): number {
  return GROWTH ** i;
}

/** The p-th percentile (0-100) in µs; the exact maximum for p = 100; 0 for an empty histogram. */
export function percentile(data: HistogramData, p: number): number {
  if (data.count === 0) return 0;
  if (p >= 100) return data.maxUs;
  const rank = Math.ceil((p / 100) * data.count);
  let seen = 0;
  for (const [i, n] of data.buckets) {
    seen += n;
    if (seen >= rank) return Math.min(data.maxUs, Math.max(data.minUs, bucketValue(i)));
  }
  return data.maxUs;
}

/** Points of the cumulative distribution: [latency µs, fraction of samples at or below it]. */
export function cdfPoints(data: HistogramData): [number, number][] {
  if (data.count === 0) return [];
  const out: [number, number][] = [[data.minUs, 0]];
  let seen = 0;
  for (const [i, n] of data.buckets) {
    seen += n;
    out.push([Math.min(data.maxUs, Math.max(data.minUs, bucketValue(i))), seen / data.count]);
  }
  return out;
}

export function mergeHistograms(list: readonly HistogramData[]): HistogramData {
  const h = new LatencyHistogram();
  for (const d of list) h.add(d);
  return h.toData();
}

export interface LatencySummary {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  samples: number;
}

export function summarize(data: HistogramData): LatencySummary {
  const ms = (us: number) => us / 1000;
  return {
    p50Ms: ms(percentile(data, 50)),
    p95Ms: ms(percentile(data, 95)),
    p99Ms: ms(percentile(data, 99)),
    maxMs: ms(data.maxUs),
    meanMs: data.count > 0 ? ms(data.sumUs / data.count) : 0,
    samples: data.count,
  };
}
