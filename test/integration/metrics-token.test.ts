import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { configSummary, configWith } from "@parley/server";
import { request, startTestServer, type TestServer } from "./support/harness.js";

// PARLEY_METRICS_TOKEN (issue 15): /metrics answers only with the bearer token when one is set.
const TOKEN = "metrics-Token_0123456789abcdef";

describe("/metrics with PARLEY_METRICS_TOKEN set", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ metricsToken: TOKEN });
  });
  after(() => ts.stop());

  test("answers the metrics to the right bearer token", async () => {
    const res = await request(ts, "GET", "/metrics", { token: TOKEN });
    assert.equal(res.status, 200);
    assert.match(res.text, /^parley_/m);
  });

  for (const [why, headers] of [
    ["no Authorization header", {}],
    ["a wrong token", { authorization: "Bearer metrics-Token_0123456789abcdeX" }],
    ["the token with a suffix", { authorization: `Bearer ${TOKEN}x` }],
    ["a prefix of the token", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ["the token without the Bearer scheme", { authorization: TOKEN }],
    ["Basic credentials", { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` }],
  ] as const) {
    test(`refuses ${why} with 401 token_invalid and no metrics`, async () => {
      const res = await request<{ code: string }>(ts, "GET", "/metrics", { headers: { ...headers } });
      assert.equal(res.status, 401);
      assert.equal(res.body.code, "token_invalid");
      assert.doesNotMatch(res.text, /parley_/);
    });
  }

  test("keeps /healthz and /readyz open", async () => {
    assert.equal((await request(ts, "GET", "/healthz")).status, 200);
    assert.equal((await request(ts, "GET", "/readyz")).status, 200);
  });

  test("never writes the token to the log, the start-up summary included", async () => {
    await request(ts, "GET", "/metrics", { token: TOKEN });
    await request(ts, "GET", "/metrics", { headers: { authorization: `Bearer ${TOKEN}x` } });
    assert.ok(!ts.logs.join("").includes(TOKEN.slice(0, 16)), "no part of the token is in the log");
    // The configuration summary main.ts logs at start names the setting but not its value.
    const summary = JSON.stringify(configSummary(configWith({ metricsToken: TOKEN })));
    assert.match(summary, /"PARLEY_METRICS_TOKEN":"\[redacted\]"/);
    assert.ok(!summary.includes(TOKEN.slice(0, 16)));
  });
});

describe("/metrics without PARLEY_METRICS_TOKEN (the default)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(() => ts.stop());

  test("answers anyone, and ignores an Authorization header", async () => {
    assert.equal((await request(ts, "GET", "/metrics")).status, 200);
    assert.equal((await request(ts, "GET", "/metrics", { token: "whatever-token-0123456789" })).status, 200);
  });
});
