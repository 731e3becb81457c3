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
