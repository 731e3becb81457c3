/**
 * The little SVG the charts need: escaped text, axis ticks, a palette. Plain SVG 1.1 with
 * inline styles so that it renders the same in a browser, on GitHub and in an editor preview.
 */

export const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/** One colour per series, chosen to stay apart for the common forms of colour blindness. */
export const SERIES_COLORS: Readonly<Record<string, string>> = {
  "ws-relay": "#7f7f7f",
  "socketio-relay": "#e69f00",
  parley: "#0072b2",
  "parley-tls": "#56b4e9",
  calm: "#0072b2",
  storm: "#d55e00",
};

export function colorOf(key: string, i: number): string {
  const fallback = ["#009e73", "#cc79a7", "#f0e442", "#000000"];
  return SERIES_COLORS[key] ?? fallback[i % fallback.length] ?? "#000000";
}

export function esc(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

export function svgDoc(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

export function text(
  x: number,
  y: number,
  content: string,
  o: {
    size?: number;
    anchor?: "start" | "middle" | "end";
    weight?: string;
    fill?: string;
    rotate?: number;
  } = {},
): string {
  const rotate = o.rotate ? ` transform="rotate(${o.rotate} ${x.toFixed(1)} ${y.toFixed(1)})"` : "";
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} font-size="${o.size ?? 12}" text-anchor="${o.anchor ?? "start"}" fill="${o.fill ?? "#24292f"}"${o.weight ? ` font-weight="${o.weight}"` : ""}${rotate}>${esc(content)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ""): string {
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${stroke}"${extra ? ` ${extra}` : ""}/>`;
}

/** Round tick values from 0 to at least `max`, about `count` of them (steps of 1, 2 or 5). */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) {
    ticks.push(v);
    if (ticks.length > 20) break;
  }
  return ticks;
}

/** Powers of ten covering [min, max]. */
export function decadeTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-6)));
  const hi = Math.ceil(Math.log10(Math.max(max, min * 10, 1e-6)));
  const out: number[] = [];
  for (let e = lo; e <= hi && out.length < 12; e++) out.push(10 ** e);
  return out;
}

/** A legend row of coloured squares and labels, left to right from (x, y). */
export function legend(x: number, y: number, items: readonly { label: string; color: string }[]): string[] {
  const out: string[] = [];
  let cx = x;
  for (const item of items) {
    out.push(
      `<rect x="${cx.toFixed(1)}" y="${(y - 10).toFixed(1)}" width="12" height="12" fill="${item.color}"/>`,
    );
    out.push(text(cx + 17, y, item.label, { size: 12 }));
    cx += 17 + item.label.length * 7 + 18;
  }
  return out;
}
