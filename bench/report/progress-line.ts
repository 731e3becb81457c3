import { assertNever } from "@parley/protocol";
import type { RunRecord } from "../scenarios/types.js";
import { cryptoLine } from "./crypto-section.js";
import { searchLine } from "./search-section.js";
import { webLine } from "./web-section.js";

/** The one-line summary of a run that the bench prints as it goes. */
export function progressLine(r: RunRecord): string {
  const d = r.data;
  if (!d) return "no data";
  switch (d.kind) {
    case "idle":
      return d.idle.steps
        .map((s) => `${s.connected} conns ${(s.rssPerConnectionBytes / 1024).toFixed(1)} KiB/conn`)
        .join(", ");
    case "traffic":
    case "storm": {
      const t = d.kind === "traffic" ? d.traffic : d.storm.traffic;
      const parts = Object.entries(t.phases).map(
        ([name, p]) =>
          `${name} ${Math.round(p.deliveriesPerS)} deliveries/s p50 ${p.latency.p50Ms.toFixed(2)} ms p99 ${p.latency.p99Ms.toFixed(2)} ms`,
      );
      const cpu = `server CPU ${(t.resources.serverCpu * 100).toFixed(0)}%, generator ${(t.resources.generatorCpu * 100).toFixed(0)}%`;
      const bad =
        t.undelivered > 0 || Object.keys(t.errors).length > 0
          ? `, undelivered ${t.undelivered}, errors ${JSON.stringify(t.errors)}`
          : "";
      return `${parts.join("; ")} (${cpu}${t.resources.generatorBound ? ", GENERATOR-BOUND" : ""}${bad})`;
    }
    case "crypto":
      return cryptoLine(d.crypto);
    case "web":
      return webLine(d.web);
    case "search":
      return searchLine(d.search);
    default:
      return assertNever(d);
  }
}

/** Expected deliveries still missing after the drain in a run (0 for runs without traffic). */
export function undeliveredOf(r: RunRecord): number {
  if (r.data?.kind === "traffic") return r.data.traffic.undelivered;
  if (r.data?.kind === "storm") return r.data.storm.traffic.undelivered;
  return 0;
}
