import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { MLS_MESSAGE_BYTES } from "./load/payload.js";
import type { TargetId } from "./targets/target.js";

/**
 * What a run does: the full suite (`npm run bench`) or the quick smoke run
 * (`npm run bench:quick`, one short repetition of a subset, under two minutes), with every
 * default written here and overridable from the command line.
 */
export interface BenchPlan {
  readonly mode: "full" | "quick";
  readonly repetitions: number;
  readonly targets: readonly TargetId[];
  /** Scenario ids to run (see scenarios/index.ts). */
  readonly scenarios: readonly string[];
  /** Connected clients in the traffic scenarios (one account each for Parley). */
  readonly clients: number;
  /** Idle scenario: connections held, in steps. */
  readonly idleSteps: readonly number[];
  readonly fanoutRoomSizes: readonly number[];
  /** Fan-out runs once per size; moderate load and the storm use the first. */
  readonly payloadSizes: readonly number[];
  readonly warmupS: number;
  readonly durationS: number;
  /** Moderate load: messages per second offered per connected client. */
  readonly moderateRatePerClient: number;
  /** Login storm: concurrent password logins. */
  readonly stormLogins: number;
  /** Max rate: deliveries kept in flight across all rooms (sets each room's window). */
  readonly inflightDeliveries: number;
  /** Crypto: members added by one Commit, one measurement each. */
  readonly cryptoAdds: readonly number[];
  /** Crypto: group sizes at which a newcomer joins from a Welcome and the state is serialised. */
  readonly cryptoGroupSizes: readonly number[];
  /** Crypto: application payload sizes, bytes. */
  readonly cryptoPayloads: readonly number[];
  /** Crypto: at most this many messages encrypted (then decrypted) per payload size. */
  readonly cryptoMessages: number;
  /** Web: cold page loads per run, each in a fresh browser context. */
  readonly webLoads: number;
  /**
   * Web: another checkout of Parley (its own npm install and web build) whose browser client's
   * cold loads are measured interleaved with this one's, served by its own server; or null.
   */
  readonly webBaseline: string | null;
  /** Generator processes; default: one per generator core. */
  readonly generators: number | null;
  /** A fresh server for every run (full); quick mode keeps one per server to save start-ups. */
  readonly freshServers: boolean;
  readonly pin: boolean;
  readonly outDir: string;
  /**
   * Where each Parley server under test writes a V8 CPU profile (`node --cpu-prof`) when it
   * stops; null for none. For finding where the server's time goes, not for the figures:
   * profiling slows the server, so a profiled run's numbers are not comparable.
   */
  readonly cpuProfileDir: string | null;
}

const FULL: Omit<BenchPlan, "outDir" | "cpuProfileDir"> = {
  mode: "full",
  repetitions: 3,
  targets: ["ws-relay", "socketio-relay", "parley"],
  scenarios: ["idle", "fanout", "moderate", "login-storm", "tls", "crypto", "web", "cluster", "search"],
  clients: 1000,
  idleSteps: [1000, 10_000, 20_000],
  fanoutRoomSizes: [10, 100],
  payloadSizes: [256, MLS_MESSAGE_BYTES],
  warmupS: 2,
  durationS: 10,
  moderateRatePerClient: 1,
  stormLogins: 50,
  inflightDeliveries: 1000,
  cryptoAdds: [1, 10, 100, 500],
  cryptoGroupSizes: [10, 100, 500],
  cryptoPayloads: [256, 4096],
  cryptoMessages: 2000,
  webLoads: 5,
  webBaseline: null,
  generators: null,
  freshServers: true,
  pin: true,
};

const QUICK: Omit<BenchPlan, "outDir" | "cpuProfileDir"> = {
  ...FULL,
  mode: "quick",
  repetitions: 1,
  // The TLS figure is left to the full run: one more Parley start-up would not fit in 2 minutes.
  scenarios: ["idle", "fanout", "moderate", "login-storm", "crypto", "web", "cluster", "search"],
  clients: 100,
  idleSteps: [1000],
  fanoutRoomSizes: [10],
  payloadSizes: [256],
  warmupS: 1,
  durationS: 3,
  cryptoAdds: [1, 10],
  cryptoGroupSizes: [10],
  cryptoMessages: 300,
  webLoads: 2,
  freshServers: false,
};

const USAGE = `usage: node --conditions=parley-source --import tsx bench/run.ts [options]

  --quick                 one short repetition of a subset (under 2 minutes)
  --reps N                repetitions per scenario (full: 3)
  --targets a,b           ws-relay, socketio-relay, parley (default: all three)
  --scenarios a,b         idle, fanout, moderate, login-storm, tls, crypto, web, cluster, search
  --clients N             clients in the traffic scenarios (full: 1000, quick: 100)
  --idle-steps a,b        connections held by the idle scenario (full: 1000,10000,20000)
  --room-sizes a,b        fan-out room sizes (full: 10,100)
  --payloads a,b          payload sizes in bytes (full: 256,${MLS_MESSAGE_BYTES})
  --duration S            seconds measured per run (full: 10, quick: 3)
  --warmup S              seconds of traffic before measuring (full: 2, quick: 1)
  --inflight N            deliveries kept in flight at max rate (1000)
  --web-loads N           cold loads per web run (full: 5, quick: 2)
  --web-baseline DIR      also measure the web client of another checkout (its own npm
                          install and web build; its own server serves it), interleaved
  --generators N          load-generator processes (default: one per generator core)
  --fresh-servers         start a fresh server for every run in quick mode too
  --no-pin                do not pin server and generator to separate cores
  --out DIR               where results go (bench/results)
  --cpu-prof DIR          each Parley server under test writes a V8 CPU profile there
                          (node --cpu-prof) when it stops; slows it, so not for figures
`;

export function parsePlan(argv: readonly string[], defaultOut: string): BenchPlan {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: "boolean", default: false },
      reps: { type: "string" },
      targets: { type: "string" },
      scenarios: { type: "string" },
      clients: { type: "string" },
      "idle-steps": { type: "string" },
      "room-sizes": { type: "string" },
      payloads: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      inflight: { type: "string" },
      generators: { type: "string" },
      "web-loads": { type: "string" },
      "web-baseline": { type: "string" },
      "fresh-servers": { type: "boolean", default: false },
      "no-pin": { type: "boolean", default: false },
      out: { type: "string" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const base = values.quick ? QUICK : FULL;
  const int = (v: string | undefined, name: string, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new TypeError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
    }
    return n;
  };
  const ints = (v: string | undefined, name: string, min: number, max: number): number[] | undefined =>
    v?.split(",").map((x) => int(x.trim(), name, min, max) as number);
  const targets = values.targets?.split(",").map((t) => t.trim());
  for (const t of targets ?? []) {
    if (t !== "ws-relay" && t !== "socketio-relay" && t !== "parley") {
      throw new TypeError(`--targets: unknown target "${t}" (ws-relay, socketio-relay, parley)`);
    }
  }
  const plan: BenchPlan = {
    ...base,
    repetitions: int(values.reps, "reps", 1, 20) ?? base.repetitions,
    targets: (targets as TargetId[] | undefined) ?? base.targets,
    scenarios: values.scenarios?.split(",").map((s) => s.trim()) ?? base.scenarios,
    clients: int(values.clients, "clients", 2, 20_000) ?? base.clients,
    idleSteps: ints(values["idle-steps"], "idle-steps", 1, 100_000) ?? base.idleSteps,
    fanoutRoomSizes: ints(values["room-sizes"], "room-sizes", 2, 10_000) ?? base.fanoutRoomSizes,
    payloadSizes: ints(values.payloads, "payloads", 18, 1_000_000) ?? base.payloadSizes,
    durationS: int(values.duration, "duration", 1, 600) ?? base.durationS,
    warmupS: int(values.warmup, "warmup", 0, 60) ?? base.warmupS,
    inflightDeliveries: int(values.inflight, "inflight", 1, 1_000_000) ?? base.inflightDeliveries,
    generators: int(values.generators, "generators", 1, 64) ?? base.generators,
    webLoads: int(values["web-loads"], "web-loads", 1, 50) ?? base.webLoads,
    webBaseline: values["web-baseline"] !== undefined ? resolve(values["web-baseline"]) : base.webBaseline,
    freshServers: values["fresh-servers"] || base.freshServers,
    pin: !values["no-pin"],
    outDir: values.out ?? defaultOut,
    cpuProfileDir: values["cpu-prof"] !== undefined ? resolve(values["cpu-prof"]) : null,
  };
  for (const size of plan.fanoutRoomSizes) {
    if (size > plan.clients)
      throw new TypeError(`room size ${size} is larger than --clients ${plan.clients}`);
  }
  return Object.freeze(plan);
}
