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
 * PostgreSQL and Redis for the multi-node scenario: a fresh schema and an empty Redis database
 * of this run's own, with their own accounts, on which one or two real Parley servers
 * (packages/server/src/main.ts, like every other Parley of the run) are started. Both services
 * are shared with the test suite, so nothing outside what the run created is ever touched, and
 * what it created is removed at the end.
 */

/** The services of the development and CI machines (shared/DESIGN.md); the tests' variables win. */
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
/** Parley's default key prefix: main.ts has no setting for another, so the database isolates. */
const KEY_PREFIX = "parley:";
/** Written first into the database a run takes, so that a concurrent run takes another. */
const CLAIM_KEY = "parley-bench:claim";
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

/**
 * The lowest-numbered empty Redis database above 0 (0 is where the tests keep their prefixes),
 * from each database's key count; null when none is empty.
 */
export function pickRedisDatabase(keyCounts: readonly number[]): number | null {
  for (let db = 1; db < keyCounts.length; db++) if (keyCounts[db] === 0) return db;
  return null;
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
   * Takes a Redis database and creates a schema, then registers the accounts there; throws with
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
    let db: number | null = null;
    try {
      await redis.connect().catch((e: unknown) => {
        throw new Error(`Redis at ${describeUrl(redisUrl)} does not answer: ${messageOf(e)}`);
      });
      db = await claimDatabase(redis);
      if (db === null) throw new Error(`Redis at ${describeUrl(redisUrl)} has no empty database to use`);
      const schemaUrl = await schemas.create().catch((e: unknown) => {
        throw new Error(`PostgreSQL at ${describeUrl(databaseUrl)} does not answer: ${messageOf(e)}`);
      });
      const u = new URL(redisUrl);
      u.pathname = `/${db}`;
      const backend = { databaseUrl: schemaUrl, redisUrl: u.href };
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
          redis: `${describeUrl(u.href)} (an empty database taken for the run, its keys deleted at the end)`,
          redisCpuMeasured: redisPid !== null,
          registration,
        },
        redisPid,
      );
    } catch (e) {
      await release(redis, schemas, db);
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
    const db = Number(new URL(this.backend.redisUrl).pathname.slice(1));
    await release(this.redis, this.schemas, db);
  }
}

/** Redis's pid from INFO, if that pid is a redis process here (not in another pid namespace). */
async function localRedisPid(redis: Redis): Promise<number | null> {
  const m = /^process_id:(\d+)/m.exec(await redis.info("server"));
  if (!m) return null;
  const comm = await readFile(`/proc/${m[1]}/comm`, "utf8").catch(() => "");
  return comm.startsWith("redis") ? Number(m[1]) : null;
}

async function claimDatabase(redis: Redis): Promise<number | null> {
  const [, count] = (await redis.config("GET", "databases")) as [string, string];
  for (;;) {
    const sizes: number[] = [];
    for (let db = 0; db < Number(count); db++) {
      await redis.select(db);
      sizes.push(await redis.dbsize());
    }
    const db = pickRedisDatabase(sizes);
    if (db === null) return null;
    await redis.select(db);
    if ((await redis.set(CLAIM_KEY, "1", "NX")) === "OK") return db;
  }
}

async function release(redis: Redis, schemas: TestSchemas, db: number | null): Promise<void> {
  try {
    await schemas.dropAll();
  } finally {
    if (db !== null && redis.status === "ready") {
      await redis.select(db);
      const stream = redis.scanStream({ match: `${KEY_PREFIX}*`, count: 1000 });
      for await (const keys of stream as AsyncIterable<string[]>)
        if (keys.length > 0) await redis.del(...keys);
      await redis.del(CLAIM_KEY);
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
