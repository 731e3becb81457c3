import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { readAllowedCores } from "./proc.js";

/**
 * Which cores the server under test and the load generator run on. With two or more cores the
 * server gets one core to itself and the generator (with this orchestrating process) the rest,
 * so neither steals the other's CPU; with `taskset` missing or a single core nothing is pinned
 * and the report says so.
 */
export interface CorePlan {
  readonly pinned: boolean;
  /** Why nothing is pinned, when it is not. */
  readonly reason: string | null;
  readonly serverCores: readonly number[];
  readonly generatorCores: readonly number[];
  /** Every core this process was allowed at start (children inherit a pinned parent's mask). */
  readonly allCores: readonly number[];
}

export async function planCores(options: { pin: boolean }): Promise<CorePlan> {
  const allowed = (await readAllowedCores()) ?? [...Array(availableParallelism()).keys()];
  const unpinned = (reason: string): CorePlan => ({
    pinned: false,
    reason,
    serverCores: allowed,
    generatorCores: allowed,
    allCores: allowed,
  });
  if (!options.pin) return unpinned("pinning disabled with --no-pin");
  if (allowed.length < 2) return unpinned(`only ${allowed.length} core available`);
  if (!hasTaskset()) return unpinned("taskset not found (util-linux)");
  const [server, ...rest] = allowed as [number, ...number[]];
  return { pinned: true, reason: null, serverCores: [server], generatorCores: rest, allCores: allowed };
}

function hasTaskset(): boolean {
  const r = spawnSync("taskset", ["--version"], { stdio: "ignore", timeout: 5000 });
  return r.status === 0;
}

/** The command prefix that runs a program on `cores`, or [] when not pinning. */
export function pinPrefix(plan: CorePlan, cores: readonly number[]): string[] {
  return plan.pinned ? ["taskset", "-c", cores.join(",")] : [];
}

/** Moves every thread of this process onto `cores`; returns false if taskset refused. */
export function pinSelf(plan: CorePlan, cores: readonly number[]): boolean {
  if (!plan.pinned) return false;
  const r = spawnSync("taskset", ["-a", "-p", "-c", cores.join(","), String(process.pid)], {
    stdio: "ignore",
    timeout: 5000,
  });
  return r.status === 0;
}
