/**
 * A voice note's waveform as numbers: what its message carries (at most PEAKS values, each a
 * byte) and what the recorder's live meter shows. Pure, so it is tested without a browser.
 */

/** Values a voice note's waveform has at most: enough bars for a phone-wide scrubber. */
export const PEAKS = 100;

/**
 * The loudest sample of each of `count` equal stretches of `samples` (PCM, -1..1), scaled so the
 * loudest stretch is 255: a quiet recording still draws a readable shape. Silence is all zeros.
 * Fewer samples than `count` give one value per sample.
 */
export function peaksOf(samples: Float32Array, count = PEAKS): number[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError("count must be a positive integer");
  const n = Math.min(count, samples.length);
  const raw = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * samples.length) / n);
    const to = Math.floor(((i + 1) * samples.length) / n);
    let max = 0;
    for (let j = from; j < to; j++) {
      const v = Math.abs(samples[j]!);
      if (v > max) max = v;
    }
    raw[i] = max;
  }
  const top = Math.max(0, ...raw);
  return top === 0 ? raw.map(() => 0) : raw.map((v) => Math.round((v / top) * 255));
}

/**
 * The level (0..1, root mean square) of one frame of an AnalyserNode's byte time-domain data,
 * where 128 is silence: one bar of the live meter.
 */
export function levelOf(frame: Uint8Array): number {
  if (frame.length === 0) return 0;
  let sum = 0;
  for (const b of frame) {
    const v = (b - 128) / 128;
    sum += v * v;
  }
  return Math.min(1, Math.sqrt(sum / frame.length));
}

/** Peaks as received: at most PEAKS integers 0..255, anything else dropped (the sender is not trusted). */
export function validPeaks(value: unknown): number[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > PEAKS) return undefined;
  return value.every((v) => Number.isInteger(v) && v >= 0 && v <= 255) ? (value as number[]) : undefined;
}

/** "0:07", "1:05", "12:00": a duration in ms as minutes and seconds, rounded to the nearest second. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}
