import assert from "node:assert/strict";
import { test } from "node:test";
import { parleyBenchSettings, settingsEnv } from "./bench-config.js";

test("names each setting once", () => {
  const envs = parleyBenchSettings({ tls: false, dataDir: "/tmp/x" }).map((s) => s.env);
  assert.equal(new Set(envs).size, envs.length);
});

test("keeps the benchmark server on loopback and off multicast", () => {
  for (const tls of [false, true]) {
    const env = settingsEnv(parleyBenchSettings({ tls, dataDir: "/tmp/x" }));
    assert.equal(env.PARLEY_HOST, "127.0.0.1");
    assert.equal(env.PARLEY_MDNS, "off");
    assert.equal(env.PARLEY_TLS, tls ? "auto" : "off");
  }
});

test("runs the single-node server on SQLite and the in-memory bus whatever the caller's environment", () => {
  const env = settingsEnv(parleyBenchSettings({ tls: false, dataDir: "/tmp/x" }));
  assert.equal(env.DATABASE_URL, "");
  assert.equal(env.REDIS_URL, "");
  assert.equal(env.PARLEY_NODE_ID, undefined);
});

test("points a multi-node server at the run's own schema, Redis key prefix and node name", () => {
  const backend = {
    databaseUrl: "postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dx",
    redisUrl: "redis://127.0.0.1:6379",
    redisKeyPrefix: "parley-bench-1a2b3c4d:",
    nodeId: "bench-a",
  };
  const env = settingsEnv(parleyBenchSettings({ tls: false, dataDir: "/tmp/x", backend }));
  assert.equal(env.DATABASE_URL, backend.databaseUrl);
  assert.equal(env.REDIS_URL, backend.redisUrl);
  assert.equal(env.PARLEY_REDIS_KEY_PREFIX, "parley-bench-1a2b3c4d:");
  assert.equal(env.PARLEY_NODE_ID, "bench-a");
  assert.equal(env.PARLEY_MDNS, "off");
});
