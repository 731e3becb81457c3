/** The size to draw an image of `width`×`height` so neither side exceeds `max`, keeping its shape (never enlarged). */
export function fitWithin(width: number, height: number, max: number): { width: number; height: number } {
  if (!(width > 0 && height > 0 && max > 0)) throw new RangeError("sizes must be positive");
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}
