import type { Spread } from "../measure/stats.js";

/** Number formatting shared by the tables and the charts; "–" for anything not measured. */

export const DASH = "–";

export function num(v: number, digits = 0): string {
  if (!Number.isFinite(v)) return DASH;
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** 57120 -> "57.1k", 1.2e6 -> "1.20M". */
export function compact(v: number): string {
  if (!Number.isFinite(v)) return DASH;
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(2)}k`;
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(a >= 100 ? 0 : 1);
}

/** Milliseconds with precision that suits the size. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return DASH;
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function pct(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(0)} %` : DASH;
}

export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : DASH;
}

export function kib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KiB` : DASH;
}

/** Parley / reference: "0.62×". */
export function times(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : DASH;
}

/** "57.1k (55.0k–58.2k)" with one repetition shown as the value alone. */
export function withSpread(s: Spread, f: (v: number) => string): string {
  if (s.n === 0) return DASH;
  if (s.n === 1 || s.min === s.max) return f(s.median);
  return `${f(s.median)} <sub>${f(s.min)}–${f(s.max)}</sub>`;
}

/** Escapes text for a Markdown table cell. */
export function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A Markdown table; numbers are right-aligned except in the columns listed in `textColumns`. */
export function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  textColumns: readonly number[] = [0],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  const align = head.map((_, i) => (textColumns.includes(i) ? "---" : "---:"));
  return [line(head), line(align), ...rows.map(line)].join("\n");
}

/** "fanout-r10-256b" -> "rooms of 10, 256 B". */
export function shortCase(id: string): string {
  const m = /r(\d+)-(\d+)b$/.exec(id);
  return m ? `rooms of ${m[1]}, ${m[2]} B` : id;
}

/** A figure that was not measured (a bar left out, a cell left blank). */
export function emptySpread(): Spread {
  return { median: Number.NaN, min: Number.NaN, max: Number.NaN, spreadPct: 0, n: 0 };
}

export function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
