import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GeneratorPool } from "./load/generator-pool.js";
import { BenchAccounts } from "./parley/accounts.js";
import { parleyBenchSettings } from "./parley/bench-config.js";
import { setupAccounts } from "./parley/setup-accounts.js";
import { parsePlan } from "./plan.js";
import { progressLine, undeliveredOf } from "./report/progress-line.js";
import { writeReport } from "./report/write-report.js";
import { type BenchResults, stampOf, writeResults } from "./results-file.js";
import { selectScenarios } from "./scenarios/index.js";
import type { BenchCase, BenchContext, RunRecord } from "./scenarios/types.js";
import { killAllChildrenNow, stopAllChildren } from "./system/child.js";
import { currentLoad, describeMachine } from "./system/machine.js";
import { optionalImport, SOCKET_IO_MISSING } from "./system/optional-import.js";
import { pinPrefix, pinSelf, planCores } from "./system/pinning.js";
import { readOpenFileLimit } from "./system/proc.js";
import { ClusterBackend } from "./targets/cluster-backend.js";
import { ServerSupply } from "./targets/server-supply.js";
import { type RunningServer, TARGETS, type TargetId, TargetUnavailableError } from "./targets/target.js";

/**
 * `npm run bench` / `npm run bench:quick`: runs every selected scenario against Parley and the
 * two reference relays in the same run, each repetition on a fresh server pinned to its own
 * core, then writes bench/results/<stamp>.json and <stamp>.md (with SVG charts beside it).
 */

const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));
/** Asked of `ulimit -n` for every child; the shell falls back to the hard limit. */
const OPEN_FILES = 1 << 20;
/** Refresh access tokens that would expire within this margin before a Parley run. */
const TOKEN_MARGIN_MS = 6 * 60_000;
const WATCHDOG_MS = { quick: 5 * 60_000, full: 150 * 60_000 } as const;

const t0 = performance.now();
const log = (line: string) => {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${line}\n`);
};

async function main(): Promise<number> {
  const plan = parsePlan(process.argv.slice(2), RESULTS_DIR);
  const startedAt = new Date();
  const stamp = stampOf(startedAt);
  const cores = await planCores({ pin: plan.pin });
  pinSelf(cores, cores.generatorCores);
  log(
    cores.pinned
      ? `pinned: server on core ${cores.serverCores.join(",")}, generator on core ${cores.generatorCores.join(",")}`
      : `not pinned: ${cores.reason}`,
  );
  const machine = await describeMachine();
  const scenarios = selectScenarios(plan);
  const cases = scenarios.flatMap((s) => s.cases(plan));
  for (const s of scenarios) if (s.unavailable) log(`scenario ${s.number} (${s.id}): ${s.unavailable}`);

  const skippedTargets: BenchResults["skippedTargets"] = [];
  const available = new Set<TargetId>([...plan.targets, "parley-tls", "parley-redis", "parley-cluster"]);
  if (plan.targets.includes("socketio-relay")) {
    const ok =
      (await optionalImport("socket.io")) !== null && (await optionalImport("socket.io-client")) !== null;
    if (!ok) {
      available.delete("socketio-relay");
      skippedTargets.push({ target: "socketio-relay", reason: SOCKET_IO_MISSING });
      log(SOCKET_IO_MISSING);
    }
  }

  const dataDir = await mkdtemp(join(tmpdir(), "parley-bench-"));
  const processes = plan.generators ?? (cores.pinned ? cores.generatorCores.length : 1);
  const accounts = new BenchAccounts();
  const needAccounts = cases.some(
    (c) => !c.inProcess && c.usesAccounts !== false && c.targets.some((t) => TARGETS[t].accounts),
  );
  let pool: GeneratorPool | null = null;
  let results: BenchResults;
  // The multi-node scenario's schema, Redis key prefix and accounts are made while the rest is
  // set up; when a service does not answer, its targets are skipped with the reason.
  const needCluster = cases.some((c) =>
    c.targets.some((t) => t === "parley-redis" || t === "parley-cluster"),
  );
  const cluster: Promise<ClusterBackend | string> = needCluster
    ? ClusterBackend.prepare({
        plan,
        dataDir,
        cores,
        openFiles: OPEN_FILES,
        log,
        ...(process.env.PARLEY_TEST_DATABASE_URL
          ? { databaseUrl: process.env.PARLEY_TEST_DATABASE_URL }
          : {}),
        ...(process.env.PARLEY_TEST_REDIS_URL ? { redisUrl: process.env.PARLEY_TEST_REDIS_URL } : {}),
      }).catch((e: unknown) => (e instanceof Error ? e.message : String(e)))
    : Promise.resolve("not run");
  const servers = new ServerSupply({
    reuse: !plan.freshServers,
    cores,
    dataDir,
    openFiles: OPEN_FILES,
    cluster,
    ...(plan.cpuProfileDir !== null
      ? { parleyNodeArgs: ["--cpu-prof", `--cpu-prof-dir=${plan.cpuProfileDir}`] }
      : {}),
  });
  try {
    // The generator processes start while the accounts are being registered.
    const starting = GeneratorPool.start({
      processes,
      pin: pinPrefix(cores, cores.generatorCores),
      openFiles: OPEN_FILES,
    });
    void starting.then((p) => {
      pool = p;
    });
    const [ready, registration, backend] = await Promise.all([
      starting,
      needAccounts
        ? setupAccounts({ plan, accounts, dataDir, cores, openFiles: OPEN_FILES, log })
        : Promise.resolve(null),
      cluster,
    ]);
    if (typeof backend === "string" && needCluster) log(`two-node scenario skipped: ${backend}`);
    const limits = await Promise.all(ready.pids.map((pid) => readOpenFileLimit(pid)));
    const generatorOpenFiles = Math.min(...limits.map((l) => l ?? 1024));
    log(`${processes} generator process(es), open-file limit ${generatorOpenFiles}`);

    const ctx: BenchContext = {
      plan,
      cores,
      pool: ready,
      accounts,
      generatorOpenFiles,
      sourceAddresses: ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"],
      log,
    };
    results = {
      version: 1,
      stamp,
      startedAt: startedAt.toISOString(),
      runtimeS: 0,
      plan,
      machine,
      cores,
      generatorProcesses: processes,
      generatorOpenFiles,
      targets: plan.targets.filter((t) => available.has(t)),
      skippedTargets,
      registration,
      cluster:
        typeof backend === "string"
          ? { unavailable: `skipped: ${backend.replace(/\.$/, "")}` }
          : { ...backend.info, unavailable: null },
      parleySettings: parleyBenchSettings({ tls: false, dataDir: "<temporary directory>" }),
      scenarios: scenarios.map((s) => ({
        id: s.id,
        number: s.number,
        title: s.title,
        unavailable: s.unavailable ?? null,
      })),
      cases: cases.map((c) => ({ id: c.id, scenario: c.scenario, title: c.title, targets: [...c.targets] })),
      runs: [],
    };
    for (const c of cases) {
      log(`== ${c.id}: ${c.title}`);
      for (let rep = 1; rep <= plan.repetitions; rep++) {
        // Rotate the order per repetition so that no server always runs first (or last).
        const order = rotate(
          c.targets.filter((t) => available.has(t)),
          rep - 1,
        );
        for (const target of order) {
          const record = await runOnce(ctx, c, target, rep, servers);
          results.runs.push(record);
          if (record.skipped) available.delete(target);
        }
      }
      results.runtimeS = (performance.now() - t0) / 1000;
      await writeResults(plan.outDir, results);
    }
  } finally {
    await servers.stopAll();
    const backend = await cluster;
    if (typeof backend !== "string") await backend.dispose();
    await (pool as GeneratorPool | null)?.close();
    await stopAllChildren();
    await rm(dataDir, { recursive: true, force: true });
  }

  results.machine.loadAtEnd = currentLoad();
  results.runtimeS = (performance.now() - t0) / 1000;
  const json = await writeResults(plan.outDir, results);
  const md = await writeReport(plan.outDir, results);
  log(`results: ${json}`);
  log(`report:  ${md}`);
  log(`total runtime ${results.runtimeS.toFixed(0)} s`);
  const failed = results.runs.filter((r) => r.error !== null && !r.skipped);
  const undelivered = results.runs.reduce((n, r) => n + undeliveredOf(r), 0);
  if (failed.length > 0) log(`${failed.length} run(s) failed`);
  if (undelivered > 0) log(`${undelivered} deliveries missing after the drain`);
  return failed.length > 0 || undelivered > 0 ? 1 : 0;
}

async function runOnce(
  ctx: BenchContext,
  c: BenchCase,
  target: TargetId,
  rep: number,
  servers: ServerSupply,
): Promise<RunRecord> {
  const record: RunRecord = {
    case: c.id,
    scenario: c.scenario,
    target,
    rep,
    startedAt: new Date().toISOString(),
    serverStartMs: 0,
    data: null,
    error: null,
    skipped: false,
  };
  let server: RunningServer | null = null;
  try {
    if (c.inProcess) {
      record.data = await c.run(ctx);
      log(`  rep ${rep} ${target}: ${progressLine(record)}`);
      return record;
    }
    const got = await servers.get(target);
    server = got.server;
    record.serverStartMs = got.startMs;
    if (got.startMs > 0) log(`    ${target} started in ${(got.startMs / 1000).toFixed(1)} s`);
    if (server.target.accounts && c.usesAccounts !== false) {
      const refreshed = await (server.accounts ?? ctx.accounts).ensureFresh(
        server.httpUrl,
        TOKEN_MARGIN_MS,
        server.ca,
      );
      if (refreshed)
        log(
          `    refreshed ${refreshed.count} access tokens in ${(refreshed.durationMs / 1000).toFixed(1)} s`,
        );
    }
    record.data = await c.run(ctx, server);
    log(`  rep ${rep} ${target}: ${progressLine(record)}`);
  } catch (e) {
    record.error = e instanceof Error ? e.message : String(e);
    record.skipped = e instanceof TargetUnavailableError;
    log(`  rep ${rep} ${target}: ${record.skipped ? "skipped" : "FAILED"}: ${record.error}`);
  } finally {
    if (server) await servers.release(server, record.error !== null);
  }
  return record;
}

function rotate<T>(list: readonly T[], by: number): T[] {
  if (list.length === 0) return [];
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

// Every child is stopped by its pid on every way out, including a hung run.
const watchdog = setTimeout(
  () => {
    log("watchdog: the run took too long; stopping every child process");
    killAllChildrenNow();
    process.exit(2);
  },
  process.argv.includes("--quick") ? WATCHDOG_MS.quick : WATCHDOG_MS.full,
);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    killAllChildrenNow();
    process.exit(130);
  });
}
process.once("exit", killAllChildrenNow);

main().then(
  (code) => {
    clearTimeout(watchdog);
    process.exitCode = code;
  },
  (e: unknown) => {
    clearTimeout(watchdog);
    log(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    killAllChildrenNow();
    process.exitCode = 1;
  },
);
