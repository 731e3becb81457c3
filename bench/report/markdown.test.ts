import assert from "node:assert/strict";
import { test } from "node:test";
import { LatencyHistogram } from "../measure/histogram.js";
import { parsePlan } from "../plan.js";
import type { BenchResults } from "../results-file.js";
import type { RunRecord, TrafficData } from "../scenarios/types.js";
import type { TargetId } from "../targets/target.js";
import { buildReport } from "./markdown.js";

function traffic(deliveriesPerS: number, undelivered = 0): TrafficData {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 1000; i++) h.record(i * 10);
  const histogram = h.toData();
  return {
    clients: 100,
    rooms: 10,
    roomSize: 10,
    payloadBytes: 256,
    mode: { kind: "closed", window: 2 },
    connect: { connected: 100, failed: 0, retries: 0, durationMs: 100, perS: 1000, samples: [] },
    join: { rooms: 10, failed: 0, durationMs: 10, samples: [] },
    phases: {
      measure: {
        durationS: 3,
        sent: 1,
        deliveries: 1,
        messagesPerS: deliveriesPerS / 9,
        deliveriesPerS,
        latency: { p50Ms: 5, p95Ms: 9.5, p99Ms: 9.9, maxMs: 10, meanMs: 5, samples: 1000 },
        histogram,
      },
    },
    resources: {
      serverCpu: 0.9,
      serverRssBytes: 1e8,
      serverPeakRssBytes: 1e8,
      generatorCpu: 0.5,
      generatorMaxProcessCpu: 0.5,
      serverCoreBusy: 0.95,
      generatorCoreBusy: 0.6,
      serverCoreForeign: 0.05,
      generatorBound: false,
    },
    lag: { meanS: 0.001, p50S: 0.001, p99S: 0.002, maxS: 0.003 },
    sent: 10,
    acks: 10,
    undelivered,
    unexpected: 0,
    errors: {},
    lost: 0,
  };
}

function run(target: TargetId, rep: number, t: TrafficData): RunRecord {
  return {
    case: "fanout-r10-256b",
    scenario: "fanout",
    target,
    rep,
    startedAt: "",
    serverStartMs: 1,
    data: { kind: "traffic", traffic: t },
    error: null,
    skipped: false,
  };
}

function results(runs: RunRecord[]): BenchResults {
  const plan = parsePlan(["--quick"], "/tmp/out");
  return {
    version: 1,
    stamp: "2025-01-01T00-00-00Z",
    startedAt: "",
    runtimeS: 60,
    plan,
    machine: {
      cpuModel: "Test CPU",
      logicalCores: 2,
      virtualized: false,
      memoryBytes: 2 ** 30,
      os: "Linux",
      node: "v20",
      hostname: "h",
      loadAtStart: 0.1,
      loadAtEnd: 0.1,
      versions: {},
    },
    cores: { pinned: true, reason: null, serverCores: [0], generatorCores: [1], allCores: [0, 1] },
    generatorProcesses: 1,
    generatorOpenFiles: 1024,
    targets: ["ws-relay", "parley"],
    skippedTargets: [{ target: "socketio-relay", reason: "socket.io not installed: skipped" }],
    registration: null,
    parleySettings: [],
    scenarios: [
      { id: "fanout", number: 2, title: "Fan-out at max rate", unavailable: null },
      { id: "crypto", number: 5, title: "Crypto", unavailable: "not yet available: later" },
    ],
    cases: [{ id: "fanout-r10-256b", scenario: "fanout", title: "fan-out", targets: ["ws-relay", "parley"] }],
    runs,
  };
}

test("reports Parley's ratio to a reference, the skipped target and the scenarios not yet available", () => {
  const r = buildReport(results([run("ws-relay", 1, traffic(100_000)), run("parley", 1, traffic(50_000))]));
  assert.match(r.markdown, /deliveries\/s 0\.50×/);
  assert.match(r.markdown, /socket\.io not installed: skipped/);
  assert.match(r.markdown, /Not yet available: later/);
  assert.match(r.markdown, /Undelivered after drain: 0/);
  assert.ok(r.charts.length >= 3);
  for (const c of r.charts) assert.match(c.svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
});

test("gives the median and spread of repetitions and flags undelivered messages", () => {
  const r = buildReport(
    results([
      run("parley", 1, traffic(40_000)),
      run("parley", 2, traffic(50_000, 3)),
      run("parley", 3, traffic(60_000)),
    ]),
  );
  assert.match(r.markdown, /50\.0k <sub>40\.0k–60\.0k<\/sub>/);
  assert.match(r.markdown, /Undelivered after drain: 3/);
});
