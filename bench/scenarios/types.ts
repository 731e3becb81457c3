import type { GeneratorPool } from "../load/generator-pool.js";
import type { ConnectResult, JoinResult } from "../load/ipc.js";
import type { LoadMode } from "../load/traffic.js";
import type { HistogramData, LatencySummary } from "../measure/histogram.js";
import type { ResourceUse } from "../measure/resource-window.js";
import type { AuthBatchResult, BenchAccounts } from "../parley/accounts.js";
import type { BenchPlan } from "../plan.js";
import type { CorePlan } from "../system/pinning.js";
import type { LagReading, RunningServer, TargetId } from "../targets/target.js";
import type { CryptoData } from "./crypto-data.js";
import type { SearchData } from "./search-data.js";
import type { WebData } from "./web-data.js";

export type { CryptoData } from "./crypto-data.js";
export type { SearchData } from "./search-data.js";
export type { WebData } from "./web-data.js";

/** What every scenario may use; built once per run by bench/run.ts. */
export interface BenchContext {
  readonly plan: BenchPlan;
  readonly cores: CorePlan;
  readonly pool: GeneratorPool;
  readonly accounts: BenchAccounts;
  /** Lowest open-file limit among the generator processes. */
  readonly generatorOpenFiles: number;
  /** Source addresses on 127/8 the clients spread over. */
  readonly sourceAddresses: readonly string[];
  log(line: string): void;
}

interface CaseBase {
  readonly scenario: string;
  readonly id: string;
  readonly title: string;
  readonly targets: readonly TargetId[];
}

/**
 * One measurable thing (a scenario at one parameter set), run once per repetition per target
 * on a freshly started server. The orchestrator starts and stops the server.
 */
export interface ServerCase extends CaseBase {
  readonly inProcess?: false;
  /** Whether the run uses the registered bench accounts; default: when the target has accounts. */
  readonly usesAccounts?: boolean;
  run(ctx: BenchContext, server: RunningServer): Promise<CaseData>;
}

/**
 * A case measured inside the orchestrator's process with no server (the crypto scenario):
 * `targets` names whose code it measures, and no server is started for it.
 */
export interface InProcessCase extends CaseBase {
  readonly inProcess: true;
  run(ctx: BenchContext): Promise<CaseData>;
}

export type BenchCase = ServerCase | InProcessCase;

/**
 * A numbered scenario of the issue. A scenario that cannot run on this machine or build says
 * why in `unavailable` instead of producing cases.
 */
export interface Scenario {
  readonly id: string;
  readonly number: number;
  readonly title: string;
  cases(plan: BenchPlan): BenchCase[];
  /** Set while the scenario cannot run; the report prints it. */
  readonly unavailable?: string;
}

export interface ConnectSummary extends Omit<ConnectResult, "connected"> {
  connected: number;
  perS: number;
}

export interface PhaseMeasure {
  durationS: number;
  sent: number;
  deliveries: number;
  messagesPerS: number;
  deliveriesPerS: number;
  latency: LatencySummary;
  histogram: HistogramData;
}

export interface TrafficData {
  clients: number;
  rooms: number;
  roomSize: number;
  payloadBytes: number;
  /** The load as offered in total (a closed-loop window is per room). */
  mode: LoadMode;
  connect: ConnectSummary;
  join: JoinResult;
  /** Measured phases by name ("measure"; "calm" and "storm" for the login storm). */
  phases: Record<string, PhaseMeasure>;
  resources: ResourceUse;
  lag: LagReading | null;
  sent: number;
  acks: number;
  /** Expected deliveries still missing after the drain: must be 0. */
  undelivered: number;
  unexpected: number;
  errors: Record<string, number>;
  lost: number;
}

export interface IdleStep {
  requested: number;
  /** After clamping to the open-file limits. */
  target: number;
  connected: number;
  failed: number;
  connectMs: number;
  perS: number;
  rssBytes: number;
  rssPerConnectionBytes: number;
  /** CPU shares while this step's connections were being opened. */
  connectServerCpu: number;
  connectGeneratorCpu: number;
  connectGeneratorBound: boolean;
  samples: string[];
}

export interface IdleData {
  baselineRssBytes: number;
  /** Why counts were lowered, when they were. */
  clampNote: string | null;
  steps: IdleStep[];
  lost: number;
}

export interface StormData {
  traffic: TrafficData;
  logins: Omit<AuthBatchResult, "latenciesMs"> & { p50Ms: number; maxMs: number };
}

export type CaseData =
  | { kind: "traffic"; traffic: TrafficData }
  | { kind: "idle"; idle: IdleData }
  | { kind: "storm"; storm: StormData }
  | { kind: "crypto"; crypto: CryptoData }
  | { kind: "web"; web: WebData }
  | { kind: "search"; search: SearchData };

export interface RunRecord {
  case: string;
  scenario: string;
  target: TargetId;
  rep: number;
  startedAt: string;
  /** Server start-up time, ms (process spawn to `listening`). */
  serverStartMs: number;
  data: CaseData | null;
  /** Why the run failed or was skipped. */
  error: string | null;
  skipped: boolean;
}
