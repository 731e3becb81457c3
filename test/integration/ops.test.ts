import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { InfoResponse } from "@parley/protocol";
import {
  login,
  metricSum,
  registerUser,
  request,
  STRONG_PASSWORD,
  scrapeMetrics,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

// What an operator scrapes and probes: /healthz, /readyz (also with the database gone),
// /metrics, and /ca.crt with the fingerprint the server announces.

type Readiness = { ready: boolean; checks: Record<string, boolean> };

describe("operations endpoints", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      trustedProxies: ["127.0.0.1"],
      bruteForceMaxFailures: 2,
      bruteForceBlockS: 300,
    });
  });
  after(async () => {
    await ts?.stop();
  });

  it("answers /healthz with 200", async () => {
    const res = await request<{ status: string }>(ts, "GET", "/healthz");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: "ok" });
  });

  it("answers /readyz with 200 and every check passing", async () => {
    const res = await request<Readiness>(ts, "GET", "/readyz");
    assert.equal(res.status, 200);
    assert.equal(res.body.ready, true);
    assert.equal(res.body.checks.database, true);
    assert.ok(Object.keys(res.body.checks).length > 0);
    for (const [check, ok] of Object.entries(res.body.checks)) assert.equal(ok, true, check);
    assert.match(String(res.headers["cache-control"]), /no-store/);
  });

  it("exposes the Parley metrics and an event-loop-lag metric in Prometheus text format", async () => {
    const res = await request<string>(ts, "GET", "/metrics");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain/);
    for (const name of [
      "parley_ws_connections",
      "parley_ws_frames_in_total",
      "parley_deliveries_total",
      "parley_auth_failures_total",
      "parley_ip_blocks_total",
    ]) {
      assert.match(res.text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, "m"), name);
    }
    assert.match(res.text, /^# TYPE parley_\w*eventloop_lag\w* gauge$/m);
  });

  it("counts connections, frames in, deliveries, failed logins and IP blocks", async () => {
    const before = await scrapeMetrics(ts);
    const alice = await registerUser(ts, uniqueName("alice"));
    const bob = await registerUser(ts, uniqueName("bob"));
    const a = await TestSocket.authed(ts, alice.accessToken);
    const b = await TestSocket.authed(ts, bob.accessToken);
    const ack = await a.call({ type: "message.send", to: { user: bob.user.id }, payload: "b3BhcXVl" });
    assert.equal(ack.type, "ack");
    await b.next("message", 5000);

    assert.equal((await login(ts, alice.user.username, "Wrong-Password-1!")).status, 401);
    // Two failures from one forwarded address block it (bruteForceMaxFailures: 2), and only it.
    for (let i = 0; i < 2; i++) {
      const res = await request(ts, "POST", "/api/login", {
        body: { username: uniqueName("nobody"), password: "Wrong-Password-2!" },
        headers: { "x-forwarded-for": "10.5.5.5" },
      });
      assert.equal(res.status, 401);
    }

    const during = await scrapeMetrics(ts);
    assert.ok(metricSum(during, "parley_ws_connections") >= metricSum(before, "parley_ws_connections") + 2);
    assert.ok(
      metricSum(during, "parley_ws_frames_in_total") >= metricSum(before, "parley_ws_frames_in_total") + 3,
    );
    assert.ok(
      metricSum(during, "parley_deliveries_total") >= metricSum(before, "parley_deliveries_total") + 1,
    );
    const failures = (m: string) =>
      metricSum(m, "parley_auth_failures_total", { kind: "invalid_credentials" });
    assert.ok(failures(during) >= failures(before) + 3);
    assert.equal(
      metricSum(during, "parley_ip_blocks_total"),
      metricSum(before, "parley_ip_blocks_total") + 1,
    );

    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
    assert.equal((await login(ts, bob.user.username, STRONG_PASSWORD)).status, 200);
  });

  it("serves /ca.crt: the CA certificate whose SHA-256 fingerprint /api/info announces", async () => {
    const res = await request<string>(ts, "GET", "/ca.crt");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^application\/x-x509-ca-cert/);
    assert.match(res.text, /^-----BEGIN CERTIFICATE-----\r?\n/);
    assert.ok(!res.text.includes("PRIVATE KEY"));
    const cert = new X509Certificate(res.text);
    assert.equal(cert.ca, true);
    assert.equal(res.text.trim(), ts.ca?.trim());

    const info = await request<InfoResponse>(ts, "GET", "/api/info");
    assert.equal(info.body.caFingerprint, cert.fingerprint256);
    assert.equal(ts.server.caFingerprint, cert.fingerprint256);
  });
});

describe("readiness without a database", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => {
    await ts?.stop();
  });

  it("answers /readyz with 503 once the storage is closed, while /healthz stays 200", async () => {
    const session = await registerUser(ts, uniqueName("db"));
    await ts.server.storage.close();

    const ready = await request<Readiness>(ts, "GET", "/readyz");
    assert.equal(ready.status, 503);
    assert.equal(ready.body.ready, false);
    assert.equal(ready.body.checks.database, false);

    assert.equal((await request(ts, "GET", "/healthz")).status, 200);
    assert.equal((await request(ts, "GET", "/api/info")).status, 200);
    // Requests that need the database fail cleanly instead of taking the server down.
    const me = await request<{ code: string }>(ts, "GET", "/api/me", { token: session.accessToken });
    assert.equal(me.status, 503);
    assert.equal(me.body.code, "service_unavailable");
    assert.equal((await request(ts, "GET", "/healthz")).status, 200);
  });

  it("answers requests that need the database with 503 service_unavailable while it is gone", async () => {
    await ts.server.storage.close();
    const res = await request<{ code: string }>(ts, "POST", "/api/login", {
      body: { username: uniqueName("db"), password: STRONG_PASSWORD },
    });
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "service_unavailable");
    assert.ok(Number(res.headers["retry-after"]) >= 1, "no Retry-After");
  });
});
