/**
 * The long fuzz run (issue 15): the same schema-driven fuzzer as
 * test/integration/protocol-fuzz.test.ts, with a million frame cases by default, bounded in time
 * too. `npm run fuzz:long -- --cases 1000000 --minutes 120 --seed 1`. Exit 1 on any problem,
 * with the first ones printed (each names the text that was sent).
 */
import { parseArgs } from "node:util";
import { startTestServer } from "../integration/support/harness.js";
import { fuzzServer } from "../integration/support/protocol-fuzz.js";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "1000000" },
    minutes: { type: "string", default: "120" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const ts = await startTestServer({
  tls: "off",
  frameRate: 1_000_000,
  frameBurst: 1_000_000,
  authRatePerMin: 1_000_000,
  bruteForceMaxFailures: 1_000_000,
  accountFreeFailures: 1_000_000,
  logLevel: "info",
});
try {
  console.log(`fuzz:long seed=${seed} cases=${cases} minutes=${values.minutes}`);
  const report = await fuzzServer(ts, {
    seed,
    wsRuns: cases,
    preAuthRuns: Math.max(100, Math.floor(cases / 20)),
    httpRuns: Math.max(300, Math.floor(cases / 10)),
    timeLimitMs: Number(values.minutes) * 60_000,
    progress: (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  console.log(JSON.stringify({ seed, ...report, problems: report.problems.slice(0, 50) }, null, 2));
  if (report.problems.length > 0) process.exitCode = 1;
} finally {
  await ts.stop();
}
