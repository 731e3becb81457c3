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

function run(target: TargetId, rep: number, t: TrafficData, caseId = "fanout-r10-256b"): RunRecord {
  return {
    case: caseId,
    scenario: caseId.split("-")[0] as string,
    target,
    rep,
    startedAt: "",
    serverStartMs: 1,
    data: { kind: "traffic", traffic: t },
    error: null,
    skipped: false,
  };
}

function results(runs: RunRecord[], more: Partial<BenchResults> = {}): BenchResults {
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
    ...more,
  };
}

const CLUSTER_CASE = {
  id: "cluster-r10-256b",
  scenario: "cluster",
  title: "two nodes",
  targets: ["parley-redis", "parley-cluster"],
} satisfies BenchResults["cases"][number];

const CLUSTER_INFO = {
  database: "postgres://postgres@127.0.0.1:5432/test, schema parley_test_x_0",
  redis: "redis://127.0.0.1:6379/1",
  redisCpuMeasured: true,
  registration: null,
  unavailable: null,
} satisfies BenchResults["cluster"];

/** Two nodes at `cpu` each, with Redis at 30 %. */
function onTwoNodes(t: TrafficData, cpu: number): TrafficData {
  return {
    ...t,
    resources: {
      ...t.resources,
      serverCpu: 2 * cpu,
      nodes: [
        { cpu, peakRssBytes: 1e8 },
        { cpu, peakRssBytes: 1e8 },
      ],
      services: { redis: 0.3 },
    },
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

test("puts two nodes beside one node on the same services and the SQLite node, with their ratios", () => {
  const r = buildReport(
    results(
      [
        run("parley", 1, traffic(60_000)),
        run("parley-redis", 1, traffic(40_000), CLUSTER_CASE.id),
        run("parley-cluster", 1, onTwoNodes(traffic(30_000), 0.45), CLUSTER_CASE.id),
      ],
      { cases: [...results([]).cases, CLUSTER_CASE], cluster: CLUSTER_INFO },
    ),
  );
  assert.match(r.markdown, /## 7\. Fan-out across two nodes/);
  assert.match(r.markdown, /\| 1 node, SQLite \+ in-memory bus \(scenario 2\) \| 60\.0k/);
  assert.match(r.markdown, /\| 2 nodes, PostgreSQL \+ Redis \| 30\.0k/);
  // Both nodes' CPU and RSS, and Redis's CPU.
  assert.match(r.markdown, /90 ?% \(45 ?% \/ 45 ?%\)/);
  assert.match(r.markdown, /\| 30 ?% \|/);
  assert.match(r.markdown, /vs 1 node on PostgreSQL \+ Redis: deliveries\/s 0\.75×/);
  assert.match(r.markdown, /vs 1 node on SQLite: deliveries\/s 0\.50×/);
  assert.match(r.markdown, /Both nodes run on core 0 .* core 1/);
  assert.match(r.markdown, /schema parley_test_x_0/);
  assert.match(r.markdown, /\*\*Two nodes, rooms of 10, 256 B\*\*/);
  assert.ok(r.charts.some((c) => c.file.endsWith("cluster-deliveries.svg")));
});

test("says why the two-node scenario was skipped instead of failing the report", () => {
  const r = buildReport(
    results([run("parley", 1, traffic(60_000))], {
      cases: [...results([]).cases, CLUSTER_CASE],
      cluster: { unavailable: "skipped: Redis at redis://127.0.0.1:6379 does not answer" },
    }),
  );
  assert.match(
    r.markdown,
    /## 7\. Fan-out across two nodes[\s\S]*Skipped: Redis at redis:\/\/127\.0\.0\.1:6379 does not answer\./,
  );
  assert.ok(!r.charts.some((c) => c.file.includes("cluster")));
});
