/**
 * `npm run bench:login-cost`: the Parley server's own CPU time per password login, split at the
 * password check, measured so that a busy machine does not change it (issue 16's login storm).
 *
 * The server starts as the benchmark starts it (bench config, SQLite, plain HTTP) and N accounts
 * are registered. Each round then fires N logins at once, each on a new connection, with the
 * password hasher process stopped (SIGSTOP): every request is taken in (HTTP parse, hooks, rate
 * limit, validation, guard, user lookup) and left waiting for its hash, so the server's CPU time
 * from the burst until it goes quiet is the intake alone, the block chat messages wait behind in
 * the storm. The hasher is then let go (SIGCONT) and the CPU time until every login has answered
 * is the part after the check (session, tokens, audit, reply). CPU time is the scheduler's count
 * for the server's main thread (its event loop) and for all its threads, never the hasher's, so
 * other work on the machine delays the run but does not change the figures. Also reported: the
 * longest event-loop delay of the round, from the server's /metrics (prom-client resets it at
 * every scrape), which a busy machine does inflate. The server's idle CPU rate (its timers),
 * measured for a second before each round, is taken off both parts: on a loaded machine the
 * hasher, which runs only when a core is idle, can take seconds for the round's hashes.
 *
 * Options: --logins N (50), --rounds R (7), --warmup W (2 rounds not reported), --root DIR (the
 * server of another checkout with its own node_modules), --baseline DIR (a second server, from
 * that checkout, measured in turn with the first, round by round, and the median ratio of each
 * round to its neighbour printed: on a loaded machine CPU time itself grows with the load, cache
 * misses and all, and the pairing cancels that), --cpu-prof DIR (the
 * server writes a V8 CPU profile there, and windows.json says when each reported round's intake
 * and after-check parts ran, in microseconds of the monotonic clock the profile's timestamps
 * use). Prints a Markdown table and the medians. Loopback only; every wait is bounded; a
 * 10-minute watchdog.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "../measure/stats.js";
import { BENCH_PASSWORD, BenchAccounts } from "../parley/accounts.js";
import { killAllChildrenNow, stopAllChildren } from "../system/child.js";
import { httpCall } from "../system/http-json.js";
import { readChildPids, readCommandLine, readProcessCpuNs, readThreadCpuNs } from "../system/proc.js";
import { startParley } from "../targets/start-parley.js";
import type { RunningServer } from "../targets/target.js";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} must be an integer >= 1`);
  return v;
}
const rootArg = process.argv.indexOf("--root");
const root = rootArg > 0 ? process.argv[rootArg + 1] : undefined;
const baselineArg = process.argv.indexOf("--baseline");
const baseline = baselineArg > 0 ? process.argv[baselineArg + 1] : undefined;
const profArg = process.argv.indexOf("--cpu-prof");
const profDir = profArg > 0 ? process.argv[profArg + 1] : undefined;
const LOGINS = option("logins", 50);
const ROUNDS = option("rounds", 7);
const WARMUP = option("warmup", 2);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const watchdog = setTimeout(() => {
  console.error("login-cost: watchdog after 10 minutes");
  killAllChildrenNow();
  process.exit(2);
}, 600_000);
process.once("SIGINT", () => {
  killAllChildrenNow();
  process.exit(130);
});

interface Cpu {
  mainNs: number;
  allNs: number;
}

async function cpuOf(pid: number): Promise<Cpu> {
  const [mainNs, allNs] = await Promise.all([readThreadCpuNs(pid), readProcessCpuNs(pid)]);
  if (mainNs === null || allNs === null) throw new Error("the server's CPU time cannot be read");
  return { mainNs, allNs };
}

/** An idle server's timers use a few microseconds per 100 ms; the profiler's sampling more. */
const QUIET_NS = profDir === undefined ? 500_000 : 5_000_000;

/**
 * Resolves once the server's event loop has used under QUIET_NS of CPU in each of two successive
 * 100 ms windows; throws after 15 s.
 */
async function quiet(pid: number): Promise<void> {
  let last = (await cpuOf(pid)).mainNs;
  let calm = 0;
  for (let i = 0; i < 150; i++) {
    await sleep(100);
    const now = (await cpuOf(pid)).mainNs;
    calm = now - last < QUIET_NS ? calm + 1 : 0;
    last = now;
    if (calm >= 2) return;
  }
  throw new Error("the server did not go quiet within 15 s");
}

async function hasherPid(serverPid: number): Promise<number> {
  for (const pid of await readChildPids(serverPid)) {
    if ((await readCommandLine(pid))?.includes("hasher-child")) return pid;
  }
  throw new Error("the server has no hasher process (it hashes in-process: nothing to split at)");
}

/** The longest event-loop delay since the previous scrape, in ms. */
async function lagMaxMs(httpUrl: string): Promise<number> {
  const r = await httpCall(`${httpUrl}/metrics`, { timeoutMs: 10_000 });
  const m = /^parley_nodejs_eventloop_lag_max_seconds ([0-9.eE+-]+)$/m.exec(r.body);
  return m ? Number(m[1]) * 1000 : Number.NaN;
}

/** Microseconds of CLOCK_MONOTONIC, the clock of a V8 CPU profile's timestamps. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

interface Round {
  /** Seconds from the hasher's release to the round going quiet. */
  afterS: number;
  /** The event loop's CPU ms per second while the server waited for nothing, just before. */
  idleMainMsPerS: number;
  /** When the intake started, the hasher was let go, and the round went quiet (monotonic µs). */
  atUs: [number, number, number];
  intakeMainMs: number;
  intakeAllMs: number;
  afterMainMs: number;
  afterAllMs: number;
  lagMaxMs: number;
}

async function round(httpUrl: string, serverPid: number, accounts: BenchAccounts): Promise<Round> {
  const hasher = await hasherPid(serverPid);
  await quiet(serverPid);
  await lagMaxMs(httpUrl);
  await quiet(serverPid);
  const i0 = await cpuOf(serverPid);
  const idleStart = performance.now();
  await sleep(1000);
  const c0 = await cpuOf(serverPid);
  const idleS = (performance.now() - idleStart) / 1000;
  const idleMainMsPerS = (c0.mainNs - i0.mainNs) / 1e6 / idleS;
  const idleAllMsPerS = (c0.allNs - i0.allNs) / 1e6 / idleS;
  const t0 = monotonicUs();
  process.kill(hasher, "SIGSTOP");
  let logins: Promise<number[]>;
  try {
    let sent = 0;
    let allSent: () => void = () => undefined;
    const sentAll = new Promise<void>((r) => {
      allSent = r;
    });
    logins = Promise.all(
      accounts.users.slice(0, LOGINS).map((u) =>
        httpCall(`${httpUrl}/api/login`, {
          json: { username: u.username, password: BENCH_PASSWORD },
          newConnection: true,
          timeoutMs: 60_000,
          onSent: () => {
            if (++sent === LOGINS) allSent();
          },
        }).then((a) => a.status),
      ),
    );
    logins.catch(() => undefined);
    await sentAll;
    await quiet(serverPid);
  } finally {
    process.kill(hasher, "SIGCONT");
  }
  const c1 = await cpuOf(serverPid);
  const t1 = monotonicUs();
  const statuses = await logins;
  const refused = statuses.filter((s) => s !== 200);
  if (refused.length > 0) throw new Error(`${refused.length} logins failed (HTTP ${refused[0]})`);
  await quiet(serverPid);
  const c2 = await cpuOf(serverPid);
  const t2 = monotonicUs();
  // What the server spends waiting for nothing (its timers) is not the logins' cost.
  const perLogin = (ns: number, fromUs: number, toUs: number, idleMsPerS: number) =>
    Math.max(0, ns / 1e6 - (idleMsPerS * (toUs - fromUs)) / 1e6) / LOGINS;
  return {
    atUs: [t0, t1, t2],
    afterS: (t2 - t1) / 1e6,
    idleMainMsPerS,
    intakeMainMs: perLogin(c1.mainNs - c0.mainNs, t0, t1, idleMainMsPerS),
    intakeAllMs: perLogin(c1.allNs - c0.allNs, t0, t1, idleAllMsPerS),
    afterMainMs: perLogin(c2.mainNs - c1.mainNs, t1, t2, idleMainMsPerS),
    afterAllMs: perLogin(c2.allNs - c1.allNs, t1, t2, idleAllMsPerS),
    lagMaxMs: await lagMaxMs(httpUrl),
  };
}

interface Target {
  readonly label: string;
  readonly server: RunningServer;
  readonly accounts: BenchAccounts;
  readonly rounds: Round[];
}

async function target(label: string, dir: string, checkout: string | undefined): Promise<Target> {
  const server = await startParley({
    tls: false,
    dataDir: dir,
    pin: [],
    openFiles: 4096,
    label: `parley (${label})`,
    ...(checkout !== undefined ? { root: checkout } : {}),
    ...(profDir !== undefined && checkout === root
      ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", profDir, "--cpu-prof-interval", "100"] }
      : {}),
  });
  const accounts = new BenchAccounts();
  const reg = await accounts.register(server.httpUrl, LOGINS, 4);
  if (reg.failed > 0) throw new Error(`registration failed: ${reg.samples[0]}`);
  return { label, server, accounts, rounds: [] };
}

const runOn = (t: Target) => round(t.server.httpUrl, t.server.pid, t.accounts);
const f = (ms: number) => ms.toFixed(3);
type Figure = Exclude<keyof Round, "atUs">;
const FIGURES: readonly Figure[] = [
  "intakeMainMs",
  "intakeAllMs",
  "afterMainMs",
  "afterAllMs",
  "lagMaxMs",
  "afterS",
  "idleMainMsPerS",
];
const row = (label: string, r: Record<Figure, number>) =>
  `| ${label} | ${FIGURES.map((k) => (k === "lagMaxMs" || !k.endsWith("Ms") ? r[k].toFixed(1) : f(r[k]))).join(" | ")} |`;

const dataDir = await mkdtemp(join(tmpdir(), "parley-login-cost-"));
try {
  const targets = [await target(root ?? "this checkout", join(dataDir, "a"), root)];
  if (baseline !== undefined)
    targets.push(await target(`baseline ${baseline}`, join(dataDir, "b"), baseline));
  for (let i = 0; i < WARMUP; i++) for (const t of targets) await runOn(t);
  console.log(`\n${LOGINS} concurrent logins, server CPU ms per login\n`);
  console.log(
    "| round | intake, event loop | intake, all threads | after check, event loop | after check, all threads | max event-loop delay ms | after check s | idle event loop ms/s |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (let i = 0; i < ROUNDS; i++) {
    // ABBA order, so a change in the machine's load falls on both alike.
    for (const t of i % 2 === 0 ? targets : [...targets].reverse()) {
      const r = await runOn(t);
      t.rounds.push(r);
      console.log(row(`${i + 1}${targets.length > 1 ? ` ${t.label}` : ""}`, r));
    }
  }
  const first = targets[0] as Target;
  if (profDir !== undefined)
    await writeFile(join(profDir, "windows.json"), JSON.stringify(first.rounds.map((r) => r.atUs)));
  const medianOf = (rounds: readonly Round[]) =>
    Object.fromEntries(FIGURES.map((k) => [k, median(rounds.map((r) => r[k]))])) as Record<Figure, number>;
  for (const t of targets) console.log(row(`median, ${t.label}`, medianOf(t.rounds)));
  const base = targets[1];
  if (base !== undefined) {
    // Each round against the baseline's round next to it: the machine's load changes both alike.
    const ratios = Object.fromEntries(
      FIGURES.map((k) => [
        k,
        median(first.rounds.map((r, i) => r[k] / ((base.rounds[i] as Round)[k] || Number.NaN))),
      ]),
    ) as Record<Figure, number>;
    console.log(`| median ratio to the baseline | ${FIGURES.map((k) => ratios[k].toFixed(2)).join(" | ")} |`);
  }
  for (const t of targets) await t.server.stop();
} finally {
  await stopAllChildren();
  await rm(dataDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}
