import { createLogger, loadConfig, startServer } from "@parley/server";

// A Parley server as a process of its own, for tests that kill it (support/cluster.ts). It is
// packages/server/src/main.ts with what the command cannot set: shorter presence timings so a
// killed server's users go offline sooner. Configuration otherwise comes from the environment,
// as for main.ts (the run's Redis key prefix is PARLEY_REDIS_KEY_PREFIX).

const env = process.env;
const ms = (name: string) => (env[name] ? Number(env[name]) : undefined);
const heartbeatMs = ms("PARLEY_TEST_HEARTBEAT_MS");
const presenceTtlMs = ms("PARLEY_TEST_PRESENCE_TTL_MS");

const config = loadConfig({ argv: [] });
const log = createLogger(config.logLevel);
const server = await startServer(config, {
  log,
  redis: {
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
    ...(presenceTtlMs !== undefined ? { presenceTtlMs } : {}),
  },
});
log.info({ event: "listening", urls: [server.url] }, "Parley is listening");
process.once("SIGTERM", () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
