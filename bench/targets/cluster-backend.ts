import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import { TestSchemas } from "../../packages/server/src/storage/test-databases.js";
import { BenchAccounts } from "../parley/accounts.js";
import type { ParleyBackend } from "../parley/bench-config.js";
import { type SetupAccountsOptions, setupAccounts } from "../parley/setup-accounts.js";
import type { BenchResults } from "../results-file.js";
import { startParley } from "./start-parley.js";
import { type LagReading, type RunningServer, TARGETS } from "./target.js";

/**
 * PostgreSQL and Redis for the multi-node scenario: a fresh schema and a Redis key prefix
 * (PARLEY_REDIS_KEY_PREFIX) of this run's own, with their own accounts, on which one or two
 * real Parley servers (packages/server/src/main.ts, like every other Parley of the run) are
 * started. Both services are shared with the test suite, so nothing outside what the run
 * created is ever touched, and what it created is removed at the end.
 */

/** The services of the development and CI machines (shared/DESIGN.md); the tests' variables win. */
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
const CONNECT_TIMEOUT_MS = 3000;

/** What the report says about the services (never a password). */
export interface ClusterInfo {
  database: string;
  redis: string;
  /** Whether Redis's process was found on this machine (then its CPU is in the figures). */
  redisCpuMeasured: boolean;
  registration: BenchResults["registration"];
}

export interface ClusterBackendOptions extends Omit<SetupAccountsOptions, "accounts" | "backend"> {
  databaseUrl?: string;
  redisUrl?: string;
}

/** A key prefix no other run or test uses: every key and channel of the run's nodes is under it. */
export function runKeyPrefix(): string {
  return `parley-bench-${randomBytes(4).toString("hex")}:`;
}

/** Why a service URL may not be used, or null: all benchmark traffic stays on 127.0.0.0/8. */
export function offLoopback(url: string): string | null {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return "not a valid URL";
  }
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ? null : `${host} is not a loopback address`;
}

/** The URL as the report shows it: no password, no query. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  u.password = "";
  u.search = "";
  return u.href.replace(/\/$/, "");
}

export class ClusterBackend {
  readonly #run = randomBytes(4).toString("hex");
  #started = 0;

  private constructor(
    private readonly o: ClusterBackendOptions,
    private readonly redis: Redis,
    private readonly schemas: TestSchemas,
    private readonly backend: Omit<ParleyBackend, "nodeId">,
    readonly accounts: BenchAccounts,
    readonly info: ClusterInfo,
    /** Redis's process when it runs on this machine (its CPU is measured beside the nodes'). */
    private readonly redisPid: number | null,
  ) {}

  /**
   * Picks a Redis key prefix and creates a schema, then registers the accounts there; throws with
   * the reason when a service is off loopback or does not answer (nothing is left behind then).
   */
  static async prepare(o: ClusterBackendOptions): Promise<ClusterBackend> {
    const databaseUrl = o.databaseUrl ?? DEFAULT_DATABASE_URL;
    const redisUrl = o.redisUrl ?? DEFAULT_REDIS_URL;
    for (const [name, url] of [
      ["PostgreSQL", databaseUrl],
      ["Redis", redisUrl],
    ] as const) {
      const why = offLoopback(url);
      if (why) throw new Error(`${name} at ${describeUrl(url)}: ${why}`);
    }
    const redis = new Redis(redisUrl, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on("error", () => undefined); // the failed command says it
    const schemas = new TestSchemas(databaseUrl);
    const redisKeyPrefix = runKeyPrefix();
    try {
      await redis.connect().catch((e: unknown) => {
        throw new Error(`Redis at ${describeUrl(redisUrl)} does not answer: ${messageOf(e)}`);
      });
      const schemaUrl = await schemas.create().catch((e: unknown) => {
        throw new Error(`PostgreSQL at ${describeUrl(databaseUrl)} does not answer: ${messageOf(e)}`);
      });
      const backend = { databaseUrl: schemaUrl, redisUrl, redisKeyPrefix };
      const accounts = new BenchAccounts();
      const registration = await setupAccounts({
        ...o,
        accounts,
        dataDir: join(o.dataDir, "cluster"),
        backend: { ...backend, nodeId: "bench-setup" },
      });
      const schema = new URL(schemaUrl).searchParams.get("options")?.split("=")[1] ?? "?";
      const redisPid = await localRedisPid(redis);
      return new ClusterBackend(
        o,
        redis,
        schemas,
        backend,
        accounts,
        {
          database: `${describeUrl(databaseUrl)}, schema ${schema} (created for the run, dropped at the end)`,
          redis: `${describeUrl(redisUrl)}, key prefix ${redisKeyPrefix} (the run's own, its keys deleted at the end)`,
          redisCpuMeasured: redisPid !== null,
          registration,
        },
        redisPid,
      );
    } catch (e) {
      await release(redis, schemas, redisKeyPrefix);
      throw e;
    }
  }

  /** Starts `count` nodes at once on `pin`, all on this backend and one data directory. */
  async start(count: 1 | 2, pin: readonly string[]): Promise<RunningServer> {
    const start = ++this.#started;
    const letters = ["a", "b"].slice(0, count);
    const started = await Promise.allSettled(
      letters.map((letter) =>
        startParley({
          tls: false,
          dataDir: join(this.o.dataDir, "cluster"),
          pin,
          openFiles: this.o.openFiles,
          backend: { ...this.backend, nodeId: `bench-${this.#run}-${start}${letter}` },
          label: `parley node ${letter}`,
        }),
      ),
    );
    const nodes = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failed = started.find((s) => s.status === "rejected");
    if (failed) {
      await Promise.all(nodes.map((n) => n.stop()));
      throw failed.reason;
    }
    const [first] = nodes as [RunningServer, ...RunningServer[]];
    return {
      ...first,
      target: TARGETS[count === 1 ? "parley-redis" : "parley-cluster"],
      accounts: this.accounts,
      ...(this.redisPid !== null ? { services: [{ name: "redis", pid: this.redisPid }] } : {}),
      ...(count > 1 ? { nodes } : {}),
      lag: async () => worstLag(await Promise.all(nodes.map((n) => n.lag()))),
      stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))),
    };
  }

  /** Drops the schema and deletes the run's Redis keys; the nodes must be stopped first. */
  async dispose(): Promise<void> {
    await release(this.redis, this.schemas, this.backend.redisKeyPrefix);
  }
}

/** Redis's pid from INFO, if that pid is a redis process here (not in another pid namespace). */
async function localRedisPid(redis: Redis): Promise<number | null> {
  const m = /^process_id:(\d+)/m.exec(await redis.info("server"));
  if (!m) return null;
  const comm = await readFile(`/proc/${m[1]}/comm`, "utf8").catch(() => "");
  return comm.startsWith("redis") ? Number(m[1]) : null;
}

async function release(redis: Redis, schemas: TestSchemas, keyPrefix: string): Promise<void> {
  try {
    await schemas.dropAll();
  } finally {
    if (redis.status === "ready") {
      const stream = redis.scanStream({ match: `${keyPrefix}*`, count: 1000 });
      for await (const keys of stream as AsyncIterable<string[]>)
        if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  }
}

/** The cluster's event-loop lag: each figure the worst of its nodes'. */
function worstLag(readings: readonly (LagReading | null)[]): LagReading | null {
  const got = readings.filter((r) => r !== null);
  if (got.length === 0) return null;
  const worst = (f: (r: LagReading) => number) => Math.max(...got.map(f));
  return {
    meanS: worst((r) => r.meanS),
    p50S: worst((r) => r.p50S),
    p99S: worst((r) => r.p99S),
    maxS: worst((r) => r.maxS),
  };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
