import type { ConnectResult, JoinResult } from "../load/ipc.js";
import type { LoadMode, TrafficReport } from "../load/traffic.js";
import { mergeHistograms, summarize } from "../measure/histogram.js";
import { type ResourceUse, ResourceWindow } from "../measure/resource-window.js";
import { nodesOf, type RunningServer } from "../targets/target.js";
import { roomSetups } from "./layout.js";
import type { BenchContext, ConnectSummary, PhaseMeasure, TrafficData } from "./types.js";

export interface TrafficSpec {
  clients: number;
  roomSize: number;
  payloadBytes: number;
  /** Total offered load: a per-room window (closed loop) or messages/s over all rooms (open). */
  mode: LoadMode;
  roomPrefix: string;
  /** Parley only: every client acknowledges what it receives with batched `receipt` frames. */
  receipts?: boolean;
}

/** Moves the run through its measured phases; the default is one phase, "measure". */
export type Driver = (control: { phase(name: string): Promise<void> }) => Promise<void>;

const CONNECT_CONCURRENCY = 100;
const JOIN_CONCURRENCY = 50;
const DRAIN_TIMEOUT_MS = 10_000;
/** Safety net on top of the orchestrator's own stop: no traffic outlives its run. */
const SEND_LIMIT_MS = 10 * 60_000;
const SEND_LIMIT_MESSAGES = 50_000_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One traffic run against a started server: connect, join rooms, warm up, measure the
 * phases the driver sets, stop, drain, account. Shared by fan-out, moderate load and the login
 * storm.
 */
export async function runTraffic(
  ctx: BenchContext,
  server: RunningServer,
  spec: TrafficSpec,
  measuredPhases: readonly string[],
  drive: Driver,
): Promise<TrafficData> {
  const { pool, plan } = ctx;
  const setups = roomSetups(ctx, server, spec);
  try {
    await Promise.all(setups.map((s, p) => pool.call(p, s)));
    const connect = summarizeConnect(
      await Promise.all(
        setups.map((s, p) =>
          pool.call(p, { op: "connect", upTo: s.identities.length, concurrency: CONNECT_CONCURRENCY }),
        ),
      ),
    );
    const join = summarizeJoin(await pool.all({ op: "join", concurrency: JOIN_CONCURRENCY }));
    ctx.log(
      `    ${connect.connected} connected in ${(connect.durationMs / 1000).toFixed(1)} s, ` +
        `${join.rooms} rooms joined in ${(join.durationMs / 1000).toFixed(1)} s` +
        `${connect.failed + join.failed > 0 ? ` (${connect.failed} connect and ${join.failed} room failures)` : ""}`,
    );
    const totalRooms = setups.reduce((n, s) => n + s.rooms.length, 0);
    await Promise.all(
      setups.map((s, p) =>
        pool.call(p, {
          op: "start",
          mode: shareOfMode(spec.mode, s.rooms.length, totalRooms),
          maxMs: SEND_LIMIT_MS,
          maxMessages: SEND_LIMIT_MESSAGES,
        }),
      ),
    );
    await pool.all({ op: "phase", name: "warmup" });
    await sleep(plan.warmupS * 1000);

    await server.lag(); // starts the event-loop window
    const window = await ResourceWindow.open(
      nodesOf(server).map((n) => n.pid),
      pool.pids,
      ctx.cores,
      server.services ?? [],
    );
    let resources: ResourceUse;
    try {
      await drive({ phase: async (name) => void (await pool.all({ op: "phase", name })) });
      await pool.all({ op: "phase", name: "tail" });
    } finally {
      resources = await window.close();
    }
    const lag = await server.lag();

    await pool.all({ op: "stop" });
    await pool.all({ op: "drain", timeoutMs: DRAIN_TIMEOUT_MS });
    const reports = await pool.all({ op: "report" });
    return {
      clients: spec.clients,
      rooms: totalRooms,
      roomSize: spec.roomSize,
      payloadBytes: spec.payloadBytes,
      mode: spec.mode,
      connect,
      join,
      phases: Object.fromEntries(measuredPhases.map((name) => [name, measurePhase(reports, name)])),
      resources,
      lag,
      sent: sum(reports, (r) => r.sent),
      acks: sum(reports, (r) => r.acks),
      undelivered: sum(reports, (r) => r.undelivered),
      unexpected: sum(reports, (r) => r.unexpected),
      errors: mergeCounts(reports.map((r) => r.errors)),
      lost: sum(reports, (r) => r.lost),
    };
  } finally {
    await pool.all({ op: "reset" });
  }
}

export async function measureFor(
  seconds: number,
  control: { phase(name: string): Promise<void> },
): Promise<void> {
  await control.phase("measure");
  await sleep(seconds * 1000);
}

function shareOfMode(mode: LoadMode, rooms: number, totalRooms: number): LoadMode {
  if (mode.kind === "closed") return mode;
  return { kind: "open", ratePerS: totalRooms > 0 ? (mode.ratePerS * rooms) / totalRooms : 0 };
}

function measurePhase(reports: readonly TrafficReport[], name: string): PhaseMeasure {
  let sent = 0;
  let deliveries = 0;
  let deliveriesPerS = 0;
  let messagesPerS = 0;
  let durationS = 0;
  const histograms = [];
  for (const r of reports) {
    const p = r.phases.find((x) => x.name === name);
    if (!p) continue;
    const s = p.durationMs / 1000;
    sent += p.sent;
    deliveries += p.deliveries;
    // Each process timed its own phase; rates add up across processes.
    if (s > 0) {
      deliveriesPerS += p.deliveries / s;
      messagesPerS += p.sent / s;
    }
    durationS = Math.max(durationS, s);
    histograms.push(p.latency);
  }
  const histogram = mergeHistograms(histograms);
  return {
    durationS,
    sent,
    deliveries,
    messagesPerS,
    deliveriesPerS,
    latency: summarize(histogram),
    histogram,
  };
}

function summarizeConnect(results: readonly ConnectResult[]): ConnectSummary {
  const connected = sum(results, (r) => r.connected);
  const durationMs = Math.max(0, ...results.map((r) => r.durationMs));
  return {
    connected,
    failed: sum(results, (r) => r.failed),
    retries: sum(results, (r) => r.retries),
    durationMs,
    perS: durationMs > 0 ? (connected / durationMs) * 1000 : 0,
    samples: results.flatMap((r) => r.samples).slice(0, 5),
  };
}

function summarizeJoin(results: readonly JoinResult[]): JoinResult {
  return {
    rooms: sum(results, (r) => r.rooms),
    failed: sum(results, (r) => r.failed),
    durationMs: Math.max(0, ...results.map((r) => r.durationMs)),
    samples: results.flatMap((r) => r.samples).slice(0, 5),
  };
}

function sum<T>(list: readonly T[], f: (x: T) => number): number {
  return list.reduce((n, x) => n + f(x), 0);
}

function mergeCounts(list: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of list) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}
