/** Median and spread over repetitions: with three runs, min-max is the honest spread. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, in percent; 0 when the median is 0. */
  spreadPct: number;
  n: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0)
    return { median: Number.NaN, min: Number.NaN, max: Number.NaN, spreadPct: 0, n: 0 };
  const med = median(finite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return {
    median: med,
    min,
    max,
    spreadPct: med !== 0 ? ((max - min) / Math.abs(med)) * 100 : 0,
    n: finite.length,
  };
}

/** Parley's figure divided by a reference's; NaN when either is missing. */
export function ratio(parley: number, reference: number): number {
  if (!Number.isFinite(parley) || !Number.isFinite(reference) || reference === 0) return Number.NaN;
  return parley / reference;
}

/**
 * Nearest-rank percentile (the smallest value with at least p % of the values at or below it):
 * for a handful of samples it is always one of them, never an interpolation. NaN when empty.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.ceil((p / 100) * s.length) - 1] as number;
}
