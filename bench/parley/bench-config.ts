/**
 * The benchmark configuration of Parley: the production code path with limits raised so that
 * the harness is not throttled by defences built for the open LAN. Nothing here is a switch
 * that skips a check: every frame is still authenticated, validated and rate-limited, only
 * against bigger numbers. The report prints this table.
 */
export interface BenchSetting {
  readonly env: string;
  readonly value: string;
  readonly why: string;
}

/** Where a node of the multi-node scenario keeps its state (bench/targets/cluster-backend.ts). */
export interface ParleyBackend {
  /** The run's own PostgreSQL schema (`search_path` in the URL). */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** The run's own Redis key prefix (PARLEY_REDIS_KEY_PREFIX). */
  readonly redisKeyPrefix: string;
  readonly nodeId: string;
}

export function parleyBenchSettings(o: {
  tls: boolean;
  dataDir: string;
  backend?: ParleyBackend;
}): BenchSetting[] {
  const b = o.backend;
  return [
    { env: "PARLEY_HOST", value: "127.0.0.1", why: "loopback only" },
    { env: "PARLEY_PORT", value: "0", why: "any free port, read from the `listening` log line" },
    { env: "PARLEY_DATA_DIR", value: o.dataDir, why: "a fresh temporary directory per run" },
    {
      env: "PARLEY_TLS",
      value: o.tls ? "auto" : "off",
      why: o.tls
        ? "the generated local CA, as in production"
        : "plain ws on loopback, like the reference servers (apples to apples)",
    },
    {
      env: "PARLEY_MDNS",
      value: "off",
      why: "no multicast on the machine's real interfaces (shared/DESIGN.md, network tests)",
    },
    {
      env: "PARLEY_DUPLICATE_LOGIN",
      value: "allow",
      why: "the idle scenario holds several sockets per account (the default, stated)",
    },
    {
      env: "PARLEY_LOG_LEVEL",
      value: "info",
      why: "the `listening` event is at info; nothing on the message path logs at info",
    },
    { env: "PARLEY_AUTH_RATE", value: "1000000", why: "all clients register/log in from one IP" },
    {
      env: "PARLEY_BRUTE_FORCE_MAX_FAILURES",
      value: "1000000",
      why: "no harness mistake blocks the loopback IP",
    },
    { env: "PARLEY_FRAME_RATE", value: "1000000", why: "max-rate scenarios send far above a human's rate" },
    { env: "PARLEY_FRAME_BURST", value: "1000000", why: "as above" },
    {
      env: "PARLEY_MAX_CONNECTIONS_PER_USER",
      value: "10000",
      why: "idle scenario holds up to 20k sockets over fewer accounts",
    },
    { env: "PARLEY_MAX_CONNECTIONS", value: "100000", why: "idle scenario holds up to 20k sockets" },
    {
      env: "PARLEY_MAX_CONNECTIONS_PER_IP",
      value: "100000",
      why: "every client connects from 127.0.0.1",
    },
    // Stated even when empty, so that a DATABASE_URL or REDIS_URL in the caller's environment
    // never turns the single-node figure into a PostgreSQL or Redis one.
    {
      env: "DATABASE_URL",
      value: b?.databaseUrl ?? "",
      why: b ? "the run's own PostgreSQL schema, dropped at the end" : "SQLite in the data directory",
    },
    {
      env: "REDIS_URL",
      value: b?.redisUrl ?? "",
      why: b ? "the shared Redis" : "in-memory bus",
    },
    ...(b
      ? [
          {
            env: "PARLEY_REDIS_KEY_PREFIX",
            value: b.redisKeyPrefix,
            why: "the run's own keys and channels, deleted at the end",
          },
          { env: "PARLEY_NODE_ID", value: b.nodeId, why: "a run-unique name per node" },
        ]
      : []),
  ];
}

export function settingsEnv(settings: readonly BenchSetting[]): Record<string, string> {
  return Object.fromEntries(settings.map((s) => [s.env, s.value]));
}
