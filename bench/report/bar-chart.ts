import type { Spread } from "../measure/stats.js";
import { compact } from "./format.js";
import { colorOf, legend, line, linearTicks, svgDoc, text } from "./svg.js";

/** One group of bars (e.g. a fan-out case) with one bar per series (server). */
export interface BarGroup {
  label: string;
  bars: { series: string; value: Spread }[];
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  groups: readonly BarGroup[];
  seriesLabels: Readonly<Record<string, string>>;
}

const W = 820;
const H = 420;
const M = { top: 56, right: 24, bottom: 64, left: 78 };

/**
 * Grouped vertical bars of the median, a whisker from the lowest to the highest repetition,
 * and the median's value above each bar.
 */
export function barChart(o: BarChartOptions): string {
  const series = [...new Set(o.groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const max = Math.max(
    1,
    ...o.groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.value.max) ? b.value.max : 0))),
  );
  const ticks = linearTicks(max);
  const top = ticks.at(-1) ?? max;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const y = (v: number) => M.top + plotH - (v / top) * plotH;
  const body: string[] = [text(M.left, 24, o.title, { size: 16, weight: "600" })];
  body.push(
    ...legend(
      M.left,
      46,
      series.map((s, i) => ({ label: o.seriesLabels[s] ?? s, color: colorOf(s, i) })),
    ),
  );
  for (const t of ticks) {
    body.push(line(M.left, y(t), W - M.right, y(t), "#d0d7de", 'stroke-width="1"'));
    body.push(text(M.left - 8, y(t) + 4, compact(t), { anchor: "end", size: 11, fill: "#57606a" }));
  }
  body.push(
    text(18, M.top + plotH / 2, o.yLabel, { anchor: "middle", size: 12, rotate: -90, fill: "#57606a" }),
  );
  const groupW = plotW / Math.max(1, o.groups.length);
  const widest = Math.max(1, ...o.groups.map((g) => g.bars.length));
  const barW = Math.min(56, (groupW * 0.8) / widest);
  for (const [gi, g] of o.groups.entries()) {
    // Bars of a group are centred on it; a series keeps its colour whatever its position.
    const gx = M.left + gi * groupW + (groupW - barW * g.bars.length) / 2;
    for (const [bi, b] of g.bars.entries()) {
      const si = series.indexOf(b.series);
      const x = gx + bi * barW;
      const v = b.value;
      if (!Number.isFinite(v.median)) continue;
      body.push(
        `<rect x="${(x + 2).toFixed(1)}" y="${y(v.median).toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${(M.top + plotH - y(v.median)).toFixed(1)}" fill="${colorOf(b.series, si)}"/>`,
      );
      if (v.n > 1 && v.max > v.min) {
        const cx = x + barW / 2;
        body.push(line(cx, y(v.min), cx, y(v.max), "#24292f", 'stroke-width="1.5"'));
        body.push(line(cx - 5, y(v.min), cx + 5, y(v.min), "#24292f", 'stroke-width="1.5"'));
        body.push(line(cx - 5, y(v.max), cx + 5, y(v.max), "#24292f", 'stroke-width="1.5"'));
      }
      const labelY = Math.min(y(v.median), v.n > 1 ? y(v.max) : y(v.median)) - 5;
      body.push(text(x + barW / 2, labelY, compact(v.median), { anchor: "middle", size: 11 }));
    }
    body.push(
      text(M.left + gi * groupW + groupW / 2, M.top + plotH + 20, g.label, { anchor: "middle", size: 12 }),
    );
  }
  body.push(line(M.left, M.top + plotH, W - M.right, M.top + plotH, "#24292f"));
  body.push(
    text(M.left, H - 14, "bar: median of the repetitions; whisker: lowest to highest", {
      size: 11,
      fill: "#57606a",
    }),
  );
  return svgDoc(W, H, o.title, body);
}
