import type { ClientKind } from "../load/clients/index.js";
import type { BenchAccounts } from "../parley/accounts.js";

/**
 * The servers a run compares. `parley-tls` is Parley over wss:// for the one TLS figure;
 * `parley-redis` one Parley node and `parley-cluster` two nodes, both on PostgreSQL + Redis,
 * for the multi-node figure.
 */
export type TargetId =
  | "ws-relay"
  | "socketio-relay"
  | "parley"
  | "parley-tls"
  | "parley-redis"
  | "parley-cluster";

export interface TargetInfo {
  readonly id: TargetId;
  readonly label: string;
  readonly client: ClientKind;
  /** The references have no accounts: no registration, no login storm. */
  readonly accounts: boolean;
}

export const TARGETS: Readonly<Record<TargetId, TargetInfo>> = {
  "ws-relay": { id: "ws-relay", label: "ws-relay (raw ws ceiling)", client: "ws-relay", accounts: false },
  "socketio-relay": { id: "socketio-relay", label: "Socket.IO relay", client: "socketio", accounts: false },
  parley: { id: "parley", label: "Parley", client: "parley", accounts: true },
  "parley-tls": { id: "parley-tls", label: "Parley (TLS)", client: "parley", accounts: true },
  "parley-redis": {
    id: "parley-redis",
    label: "Parley, 1 node (PostgreSQL + Redis)",
    client: "parley",
    accounts: true,
  },
  "parley-cluster": {
    id: "parley-cluster",
    label: "Parley, 2 nodes (PostgreSQL + Redis)",
    client: "parley",
    accounts: true,
  },
};

/**
 * Both Parley (prom-client with eventLoopMonitoringPrecision 20, packages/server/src/ops/metrics.ts)
 * and the reference servers (peers/peer-runtime.ts) sample the event loop with a 20 ms timer.
 * monitorEventLoopDelay records the interval between the timer's runs, so an idle loop reads
 * about 20 ms: the lag is what exceeds it.
 */
export const LAG_RESOLUTION_S = 0.02;

export function lagOf(raw: { meanS: number; p50S: number; p99S: number; maxS: number }): LagReading {
  const beyond = (v: number) => (Number.isFinite(v) ? Math.max(0, v - LAG_RESOLUTION_S) : Number.NaN);
  return { meanS: beyond(raw.meanS), p50S: beyond(raw.p50S), p99S: beyond(raw.p99S), maxS: beyond(raw.maxS) };
}

/** Event-loop lag of the server since the previous reading, in seconds (beyond the sampling timer). */
export interface LagReading {
  meanS: number;
  p50S: number;
  p99S: number;
  maxS: number;
}

/** One server process of a target. */
export interface ServerNode {
  readonly pid: number;
  /** ws:// or wss:// endpoint the clients open. */
  readonly wsUrl: string;
  /** http(s):// origin for REST, /metrics and /lag. */
  readonly httpUrl: string;
}

/** A target as started for a run; for a cluster, `pid` and the URLs are its first node's. */
export interface RunningServer extends ServerNode {
  readonly target: TargetInfo;
  /** Every process of a multi-node target, in order; absent for one server. */
  readonly nodes?: readonly ServerNode[];
  /** Local processes the target depends on but the run did not start (Redis), measured beside it. */
  readonly services?: readonly { name: string; pid: number }[];
  /** The accounts that exist on this server, when not the run's (a cluster has its own database). */
  readonly accounts?: BenchAccounts;
  /** PEM to trust for wss:// and https://. */
  readonly ca?: string;
  /** The open-file limit the server process actually got. */
  readonly openFiles: number | null;
  /** Event-loop delay since the previous call (the first call starts the window). */
  lag(): Promise<LagReading | null>;
  stop(): Promise<void>;
}

/** The processes behind a target: its nodes, or the one server itself. */
export function nodesOf(server: RunningServer): readonly ServerNode[] {
  return server.nodes ?? [server];
}

/** A target that cannot run on this machine (e.g. socket.io not installed). */
export class TargetUnavailableError extends Error {
  readonly code = "BENCH_TARGET_UNAVAILABLE";
}
