import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestServer, type TestServer } from "./support/harness.js";
import { fuzzServer } from "./support/protocol-fuzz.js";

// Issue 15: schema-driven fuzzing of every client frame type and every JSON request body through
// the real server (SQLite in a temp dir, an ephemeral port). Seeded: the same cases every run.
// The long run (a million cases) is `npm run fuzz:long` (docs/OPERATIONS.md).
const SEED = 15_2026;

let ts: TestServer;
before(async () => {
  ts = await startTestServer({
    // The fuzzer tests input handling, not the limits that protect against floods: those have
    // their own tests (SECURITY.md SP-4, SP-9).
    tls: "off",
    frameRate: 1_000_000,
    frameBurst: 1_000_000,
    authRatePerMin: 1_000_000,
    bruteForceMaxFailures: 1_000_000,
    accountFreeFailures: 1_000_000,
    logLevel: "info",
  });
});
after(() => ts.stop());

test("fuzzed frames and bodies from the protocol's schemas never crash the server, answer internal_error or starve another user", async () => {
  const report = await fuzzServer(ts, { seed: SEED, wsRuns: 2000, preAuthRuns: 100, httpRuns: 200 });
  console.log(JSON.stringify({ ...report, problems: report.problems.slice(0, 20) }));
  assert.deepEqual(report.problems, []);
  assert.equal(report.cases.ws, 2000);
  assert.ok(report.bystanderAnswers >= 80, "the other user was asked throughout and always answered");
  // The heap after fuzzing, measured against the same run's baseline: a generous bound that only
  // a leak growing with the number of cases would cross.
  assert.ok(
    report.heapUsedMiB.end < report.heapUsedMiB.baseline * 2 + 64,
    `heap ${report.heapUsedMiB.end.toFixed(1)} MiB after fuzzing, ${report.heapUsedMiB.baseline.toFixed(1)} MiB at baseline`,
  );
});
