import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ParleyBackend, parleyBenchSettings, settingsEnv } from "../parley/bench-config.js";
import { type Child, REPO_ROOT, spawnChild, TS_NODE_ARGS, waitForLine } from "../system/child.js";
import { httpCall } from "../system/http-json.js";
import { readOpenFileLimit } from "../system/proc.js";
import { guardMulticast } from "./multicast-guard.js";
import { type LagReading, lagOf, type RunningServer, TARGETS } from "./target.js";

const MAIN = join(REPO_ROOT, "packages/server/src/main.ts");
const START_TIMEOUT_MS = 90_000;

export interface StartParleyOptions {
  tls: boolean;
  dataDir: string;
  pin: readonly string[];
  openFiles: number;
  /** PostgreSQL + Redis for a node of the multi-node scenario; default SQLite and the in-memory bus. */
  backend?: ParleyBackend;
  /** Label in error messages and the process list; default "parley". */
  label?: string;
  /** Extra node flags before the module (e.g. `--cpu-prof`); none by default. */
  nodeArgs?: readonly string[];
  /** Another checkout (with its own node_modules) whose server to run; default this one. */
  root?: string;
}

/**
 * Starts packages/server/src/main.ts exactly as an operator would (`npm start` runs the same
 * module), with the benchmark configuration, and waits for its `listening` log event.
 */
export async function startParley(o: StartParleyOptions): Promise<RunningServer> {
  const env = {
    ...settingsEnv(
      parleyBenchSettings({ tls: o.tls, dataDir: o.dataDir, ...(o.backend ? { backend: o.backend } : {}) }),
    ),
  };
  const child = spawnChild({
    argv: [
      process.execPath,
      ...(o.nodeArgs ?? []),
      ...TS_NODE_ARGS,
      o.root === undefined ? MAIN : join(o.root, "packages/server/src/main.ts"),
    ],
    ...(o.root !== undefined ? { cwd: o.root } : {}),
    pin: o.pin,
    env,
    openFiles: o.openFiles,
    label: o.label ?? (o.tls ? "parley (tls)" : "parley"),
  });
  const guard = guardMulticast(child);
  try {
    const url = await waitForLine(child, listeningUrl, START_TIMEOUT_MS);
    if (guard.refused()) throw new Error("mDNS on");
    const ca = o.tls ? await readFile(join(o.dataDir, "tls", "ca.crt"), "utf8") : undefined;
    return parleyHandle(child, url, ca, o.tls, await readOpenFileLimit(child.pid));
  } catch (e) {
    await child.stop();
    if (guard.refused()) throw new Error(`refused to run Parley with PARLEY_MDNS=${String(guard.seen())}`);
    throw e;
  } finally {
    guard.dispose();
  }
}

function listeningUrl(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const entry = JSON.parse(line) as { event?: unknown; urls?: unknown };
    if (entry.event !== "listening" || !Array.isArray(entry.urls)) return undefined;
    const first: unknown = entry.urls[0];
    return typeof first === "string" ? first : undefined;
  } catch {
    return undefined;
  }
}

function parleyHandle(
  child: Child,
  httpUrl: string,
  ca: string | undefined,
  tls: boolean,
  openFiles: number | null,
): RunningServer {
  return {
    target: tls ? TARGETS["parley-tls"] : TARGETS.parley,
    pid: child.pid,
    wsUrl: `${httpUrl.replace(/^http/, "ws")}/ws`,
    httpUrl,
    ...(ca !== undefined ? { ca } : {}),
    openFiles,
    lag: () => scrapeLag(httpUrl, ca),
    stop: () => child.stop(),
  };
}

/**
 * prom-client's event-loop gauges cover the time since the previous scrape (it resets its
 * monitorEventLoopDelay histogram on every collect), so two scrapes bracket a window.
 */
async function scrapeLag(httpUrl: string, ca: string | undefined): Promise<LagReading | null> {
  try {
    const r = await httpCall(`${httpUrl}/metrics`, {
      ...(ca !== undefined ? { ca } : {}),
      timeoutMs: 10_000,
    });
    if (r.status !== 200) return null;
    const gauge = (name: string) => {
      const m = new RegExp(`^parley_nodejs_eventloop_lag_${name}_seconds ([0-9.eE+-]+)$`, "m").exec(r.body);
      return m ? Number(m[1]) : Number.NaN;
    };
    return lagOf({ meanS: gauge("mean"), p50S: gauge("p50"), p99S: gauge("p99"), maxS: gauge("max") });
  } catch {
    return null;
  }
}
