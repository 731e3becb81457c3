import { type HistogramData, mergeHistograms } from "../measure/histogram.js";
import { type Spread, spread } from "../measure/stats.js";
import type { IdleData, RunRecord, TrafficData } from "../scenarios/types.js";
import type { TargetId } from "../targets/target.js";

/**
 * Repetitions folded into one figure per (case, server): the median and the min-max spread of
 * each per-run value, and the latency histograms of all repetitions merged for the CDF.
 */

export interface PhaseAgg {
  deliveriesPerS: Spread;
  messagesPerS: Spread;
  p50: Spread;
  p95: Spread;
  p99: Spread;
  max: Spread;
  histogram: HistogramData;
}

export interface TrafficAgg {
  runs: number;
  phases: Record<string, PhaseAgg>;
  serverCpu: Spread;
  /**
   * Server CPU time per delivery in the "measure" phase, µs. Robust to a shared machine: it
   * does not fall when other processes take the server's core away, unlike deliveries/s.
   */
  cpuUsPerDelivery: Spread;
  serverRss: Spread;
  generatorCpu: Spread;
  generatorCoreBusy: Spread;
  serverCoreForeign: Spread;
  lagP99: Spread;
  lagMax: Spread;
  connectPerS: Spread;
  generatorBoundRuns: number;
  undelivered: number;
  unexpected: number;
  missingAcks: number;
  lost: number;
  connectFailures: number;
  /** Connection attempts that failed and were retried (the server was slow to answer). */
  connectRetries: number;
  joinFailures: number;
  errors: Record<string, number>;
}

export interface IdleStepAgg {
  requested: number;
  target: number;
  connected: Spread;
  perS: Spread;
  rss: Spread;
  rssPerConnection: Spread;
  connectServerCpu: Spread;
  connectGeneratorCpu: Spread;
  generatorBoundRuns: number;
  failed: number;
}

export interface IdleAgg {
  runs: number;
  steps: IdleStepAgg[];
  clampNote: string | null;
  lost: number;
}

export interface StormAgg {
  traffic: TrafficAgg;
  loginDurationMs: Spread;
  loginsPerS: Spread;
  loginP50Ms: Spread;
  loginMaxMs: Spread;
  loginFailures: number;
  logins: number;
}

export interface TargetAgg {
  target: TargetId;
  failedRuns: { rep: number; error: string }[];
  traffic: TrafficAgg | null;
  idle: IdleAgg | null;
  storm: StormAgg | null;
}

/** Aggregates of one case, by server, in the order the servers were listed. */
export function aggregateCase(
  runs: readonly RunRecord[],
  caseId: string,
  targets: readonly TargetId[],
): TargetAgg[] {
  return targets.map((target) => {
    const mine = runs.filter((r) => r.case === caseId && r.target === target);
    const failedRuns = mine
      .filter((r) => r.error !== null && !r.skipped)
      .map((r) => ({ rep: r.rep, error: r.error ?? "" }));
    const traffic: TrafficData[] = [];
    const storms = [];
    const idles = [];
    for (const r of mine) {
      if (r.data?.kind === "traffic") traffic.push(r.data.traffic);
      else if (r.data?.kind === "storm") storms.push(r.data.storm);
      else if (r.data?.kind === "idle") idles.push(r.data.idle);
    }
    return {
      target,
      failedRuns,
      traffic: traffic.length > 0 ? aggregateTraffic(traffic) : null,
      storm:
        storms.length > 0
          ? {
              traffic: aggregateTraffic(storms.map((s) => s.traffic)),
              loginDurationMs: spread(storms.map((s) => s.logins.durationMs)),
              loginsPerS: spread(storms.map((s) => s.logins.perS)),
              loginP50Ms: spread(storms.map((s) => s.logins.p50Ms)),
              loginMaxMs: spread(storms.map((s) => s.logins.maxMs)),
              loginFailures: storms.reduce((n, s) => n + s.logins.failed, 0),
              logins: storms[0]?.logins.count ?? 0,
            }
          : null,
      idle: idles.length > 0 ? aggregateIdle(idles) : null,
    };
  });
}

function aggregateTraffic(list: readonly TrafficData[]): TrafficAgg {
  const names = new Set(list.flatMap((t) => Object.keys(t.phases)));
  const phases: Record<string, PhaseAgg> = {};
  for (const name of names) {
    const ps = list.flatMap((t) => (t.phases[name] ? [t.phases[name]] : []));
    const histogram = mergeHistograms(ps.map((p) => p.histogram));
    phases[name] = {
      deliveriesPerS: spread(ps.map((p) => p.deliveriesPerS)),
      messagesPerS: spread(ps.map((p) => p.messagesPerS)),
      p50: spread(ps.map((p) => p.latency.p50Ms)),
      p95: spread(ps.map((p) => p.latency.p95Ms)),
      p99: spread(ps.map((p) => p.latency.p99Ms)),
      max: spread(ps.map((p) => p.latency.maxMs)),
      histogram,
    };
  }
  const errors: Record<string, number> = {};
  for (const t of list) for (const [k, v] of Object.entries(t.errors)) errors[k] = (errors[k] ?? 0) + v;
  return {
    runs: list.length,
    phases,
    serverCpu: spread(list.map((t) => t.resources.serverCpu)),
    cpuUsPerDelivery: spread(list.map(cpuPerDelivery)),
    serverRss: spread(list.map((t) => t.resources.serverPeakRssBytes)),
    generatorCpu: spread(list.map((t) => t.resources.generatorCpu)),
    generatorCoreBusy: spread(list.map((t) => t.resources.generatorCoreBusy)),
    serverCoreForeign: spread(list.map((t) => t.resources.serverCoreForeign)),
    lagP99: spread(list.map((t) => (t.lag ? t.lag.p99S * 1000 : Number.NaN))),
    lagMax: spread(list.map((t) => (t.lag ? t.lag.maxS * 1000 : Number.NaN))),
    connectPerS: spread(list.map((t) => t.connect.perS)),
    generatorBoundRuns: list.filter((t) => t.resources.generatorBound).length,
    undelivered: list.reduce((n, t) => n + t.undelivered, 0),
    unexpected: list.reduce((n, t) => n + t.unexpected, 0),
    missingAcks: list.reduce((n, t) => n + Math.max(0, t.sent - t.acks), 0),
    lost: list.reduce((n, t) => n + t.lost, 0),
    connectFailures: list.reduce((n, t) => n + t.connect.failed, 0),
    connectRetries: list.reduce((n, t) => n + (t.connect.retries ?? 0), 0),
    joinFailures: list.reduce((n, t) => n + t.join.failed, 0),
    errors,
  };
}

function aggregateIdle(list: readonly IdleData[]): IdleAgg {
  const first = list[0];
  const steps: IdleStepAgg[] = (first?.steps ?? []).map((s, i) => {
    const same = list.flatMap((d) => (d.steps[i] ? [d.steps[i]] : []));
    return {
      requested: s.requested,
      target: s.target,
      connected: spread(same.map((x) => x.connected)),
      perS: spread(same.map((x) => x.perS)),
      rss: spread(same.map((x) => x.rssBytes)),
      rssPerConnection: spread(same.map((x) => x.rssPerConnectionBytes)),
      // Results written before these fields existed read as "not measured".
      connectServerCpu: spread(same.map((x) => x.connectServerCpu ?? Number.NaN)),
      connectGeneratorCpu: spread(same.map((x) => x.connectGeneratorCpu ?? Number.NaN)),
      generatorBoundRuns: same.filter((x) => x.connectGeneratorBound === true).length,
      failed: same.reduce((n, x) => n + x.failed, 0),
    };
  });
  return {
    runs: list.length,
    steps,
    clampNote: list.find((d) => d.clampNote !== null)?.clampNote ?? null,
    lost: list.reduce((n, d) => n + d.lost, 0),
  };
}

function cpuPerDelivery(t: TrafficData): number {
  const rates = Object.values(t.phases).map((p) => p.deliveriesPerS);
  const rate =
    t.phases.measure?.deliveriesPerS ?? rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length);
  return rate > 0 ? (t.resources.serverCpu / rate) * 1e6 : Number.NaN;
}
