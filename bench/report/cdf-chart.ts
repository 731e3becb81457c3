import { cdfPoints, type HistogramData } from "../measure/histogram.js";
import { colorOf, decadeTicks, legend, line, svgDoc, text } from "./svg.js";

export interface CdfSeries {
  key: string;
  label: string;
  histogram: HistogramData;
}

const W = 820;
const H = 420;
const M = { top: 56, right: 24, bottom: 56, left: 64 };

/**
 * Latency cumulative distribution per series: latency on a logarithmic x axis (ms), the share
 * of deliveries at or below it on y, with guides at the median and the 99th percentile.
 */
export function cdfChart(title: string, series: readonly CdfSeries[]): string {
  const withData = series.filter((s) => s.histogram.count > 0);
  const lo = Math.min(...withData.map((s) => s.histogram.minUs / 1000));
  const hi = Math.max(...withData.map((s) => s.histogram.maxUs / 1000));
  const ticks = decadeTicks(Number.isFinite(lo) ? lo : 0.1, Number.isFinite(hi) ? hi : 10);
  const x0 = Math.log10(ticks[0] ?? 0.1);
  const x1 = Math.log10(ticks.at(-1) ?? 10);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (msValue: number) =>
    M.left + ((Math.log10(Math.max(msValue, 1e-6)) - x0) / (x1 - x0 || 1)) * plotW;
  const y = (share: number) => M.top + plotH - share * plotH;
  const body: string[] = [text(M.left, 24, title, { size: 16, weight: "600" })];
  body.push(
    ...legend(
      M.left,
      46,
      withData.map((s, i) => ({ label: s.label, color: colorOf(s.key, i) })),
    ),
  );
  for (const t of ticks) {
    body.push(line(x(t), M.top, x(t), M.top + plotH, "#d0d7de"));
    body.push(
      text(x(t), M.top + plotH + 18, t >= 1 ? String(t) : String(Number(t.toPrecision(1))), {
        anchor: "middle",
        size: 11,
        fill: "#57606a",
      }),
    );
  }
  for (const share of [0, 0.25, 0.5, 0.75, 1]) {
    body.push(line(M.left, y(share), W - M.right, y(share), "#eaeef2"));
    body.push(
      text(M.left - 8, y(share) + 4, `${share * 100}%`, { anchor: "end", size: 11, fill: "#57606a" }),
    );
  }
  for (const [share, label] of [
    [0.5, "p50"],
    [0.99, "p99"],
  ] as const) {
    body.push(line(M.left, y(share), W - M.right, y(share), "#8c959f", 'stroke-dasharray="4 4"'));
    body.push(text(W - M.right - 4, y(share) - 4, label, { anchor: "end", size: 11, fill: "#57606a" }));
  }
  for (const [i, s] of withData.entries()) {
    const pts = cdfPoints(s.histogram).map(
      ([us, share]) => `${x(us / 1000).toFixed(1)},${y(share).toFixed(1)}`,
    );
    body.push(
      `<polyline fill="none" stroke="${colorOf(s.key, i)}" stroke-width="2" stroke-linejoin="round" points="${pts.join(" ")}"/>`,
    );
  }
  body.push(line(M.left, M.top + plotH, W - M.right, M.top + plotH, "#24292f"));
  body.push(line(M.left, M.top, M.left, M.top + plotH, "#24292f"));
  body.push(
    text(M.left + plotW / 2, H - 12, "end-to-end latency, ms (log scale)", {
      anchor: "middle",
      size: 12,
      fill: "#57606a",
    }),
  );
  if (withData.length === 0) body.push(text(W / 2, H / 2, "no deliveries measured", { anchor: "middle" }));
  return svgDoc(W, H, title, body);
}
