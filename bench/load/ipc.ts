import type { ClientIdentity, ClientTarget } from "./clients/index.js";
import type { LoadMode, TrafficReport } from "./traffic.js";

/**
 * The conversation between the orchestrator (bench/run.ts) and each generator process, over
 * Node's IPC channel with structured-clone serialisation. One request, one reply, by id.
 */

export interface SetupCommand {
  op: "setup";
  target: ClientTarget;
  /** One per client this process runs. */
  identities: ClientIdentity[];
  /** Rooms as lists of indexes into `identities`; the first member creates the room. */
  rooms: number[][];
  /** Name prefix for the rooms (a run-unique tag keeps names apart across runs). */
  roomPrefix: string;
  payloadBytes: number;
}

export interface ConnectResult {
  /** Clients connected in total after this call. */
  connected: number;
  /** Clients that could not connect in this call, after their retries. */
  failed: number;
  /** Attempts that failed and were retried. */
  retries: number;
  durationMs: number;
  /** A few failure messages, for the report. */
  samples: string[];
}

export interface JoinResult {
  rooms: number;
  failed: number;
  durationMs: number;
  samples: string[];
}

export type GeneratorCommand =
  | SetupCommand
  /** Connects clients in order until `upTo` of them are open, `concurrency` at a time. */
  | { op: "connect"; upTo: number; concurrency: number }
  | { op: "join"; concurrency: number }
  | { op: "start"; mode: LoadMode; maxMs: number; maxMessages: number }
  | { op: "phase"; name: string }
  | { op: "stop" }
  | { op: "drain"; timeoutMs: number }
  | { op: "report" }
  /** Closes every client and forgets the setup. */
  | { op: "reset" }
  | { op: "exit" };

export interface Results {
  setup: null;
  connect: ConnectResult;
  join: JoinResult;
  start: null;
  phase: null;
  stop: null;
  drain: null;
  report: TrafficReport;
  reset: null;
  exit: null;
}

export interface Request {
  id: number;
  command: GeneratorCommand;
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
