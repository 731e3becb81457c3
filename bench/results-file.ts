import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AuthBatchResult } from "./parley/accounts.js";
import type { BenchPlan } from "./plan.js";
import type { RunRecord } from "./scenarios/types.js";
import type { MachineInfo } from "./system/machine.js";
import type { CorePlan } from "./system/pinning.js";
import type { ClusterInfo } from "./targets/cluster-backend.js";
import type { TargetId } from "./targets/target.js";

/** Everything a run measured: bench/results/<stamp>.json, from which the report is drawn. */
export interface BenchResults {
  version: 1;
  stamp: string;
  startedAt: string;
  runtimeS: number;
  plan: BenchPlan;
  machine: MachineInfo;
  cores: CorePlan;
  generatorProcesses: number;
  generatorOpenFiles: number;
  targets: TargetId[];
  /** Targets left out, with the reason (e.g. "socket.io not installed: skipped"). */
  skippedTargets: { target: TargetId; reason: string }[];
  registration: Omit<AuthBatchResult, "latenciesMs"> | null;
  /** The multi-node scenario's services, or why it did not run (absent in older results). */
  cluster?: (ClusterInfo & { unavailable: null }) | { unavailable: string };
  parleySettings: { env: string; value: string; why: string }[];
  scenarios: { id: string; number: number; title: string; unavailable: string | null }[];
  cases: { id: string; scenario: string; title: string; targets: TargetId[] }[];
  runs: RunRecord[];
}

/** A file-name-safe UTC timestamp, e.g. 2025-01-31T09-12-44Z. */
export function stampOf(d: Date): string {
  return `${d.toISOString().slice(0, 19).replaceAll(":", "-")}Z`;
}

export async function writeResults(dir: string, results: BenchResults): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${results.stamp}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 1)}\n`);
  return file;
}
