#!/usr/bin/env node
// Runs the test suites with Node's own test runner and tsx, against the TypeScript sources
// (the `parley-source` export condition), so no build step can leave a test on stale code.
//   unit:        packages/*/src/**/*.test.ts, bench/**/*.test.ts and scripts/*.test.ts (no sockets, no services)
//   integration: test/integration/**/*.test.ts (real HTTPS/WSS on ephemeral ports, SQLite, Postgres, Redis)
//   e2e:         test/e2e/**/*.test.ts         (real Chromium)
//   all:         every one of them
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { buildWeb, webBuildStale } from "./web-build.mjs";

const root = new URL("..", import.meta.url).pathname;
const suites = {
  unit: ["packages", "bench", "scripts"],
  integration: ["test/integration"],
  e2e: ["test/e2e"],
};

function collect(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === "node_modules" || name === "dist") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(collect(path));
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

const which = process.argv[2] ?? "all";
const dirs = which === "all" ? Object.values(suites).flat() : suites[which];
if (!dirs) {
  console.error(`unknown suite "${which}" (expected ${Object.keys(suites).join(", ")} or all)`);
  process.exit(2);
}
const extra = process.argv.slice(3);
const files = dirs
  .flatMap((d) => collect(join(root, d)))
  .map((f) => relative(root, f))
  .filter((f) => extra.length === 0 || extra.some((e) => f.includes(e)))
  .sort();
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
// The e2e suite drives the production bundle the server serves: (re)build it when it is missing
// or older than anything it is built from (scripts/web-build.mjs).
if (files.some((f) => f.startsWith("test/e2e/"))) {
  const stale = webBuildStale(root);
  if (stale !== null) {
    console.error("run-tests: building packages/web for the e2e suite");
    const status = buildWeb({ root, force: true });
    if (status !== 0) process.exit(status);
  }
}

// --test-force-exit: a file whose tests have all finished exits even if something it started
// (a client left reconnecting after a failed test) keeps its event loop alive; without it the
// whole run would wait for that file forever.
const child = spawn(
  process.execPath,
  [
    "--conditions=parley-source",
    "--import",
    "tsx",
    "--test",
    "--test-force-exit",
    "--test-concurrency=2",
    ...files,
  ],
  { cwd: root, stdio: "inherit", env: { ...process.env, NODE_ENV: "test" } },
);
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
