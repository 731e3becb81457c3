#!/usr/bin/env node
// Builds packages/web (Vite) only when its output is missing or older than something it is built
// from, so that a second `npm start` does not rebuild what has not changed. `--force` builds
// anyway. scripts/run-tests.mjs uses the same check before the e2e suite.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The newest modification time (ms) of a file, or of any file under a folder; 0 when absent. */
export function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) {
    if (name === "node_modules" || name === "dist") continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

/**
 * What the web build reads: the web package's sources, assets and config, the SDK packages it
 * bundles from source, and the lock file (a changed dependency).
 */
export function webBuildInputs(root = ROOT) {
  const web = join(root, "packages/web");
  return [
    ...["src", "public", "index.html", "vite.config.ts", "package.json"].map((p) => join(web, p)),
    ...["protocol", "crypto", "client"].map((p) => join(root, "packages", p, "src")),
    join(root, "package-lock.json"),
  ];
}

/** The first input newer than the build's index.html, "no build" when there is none, or null when current. */
export function webBuildStale(root = ROOT) {
  const built = newestMtime(join(root, "packages/web/dist/index.html"));
  if (built === 0) return "no build";
  return webBuildInputs(root).find((p) => newestMtime(p) > built) ?? null;
}

/** Runs `vite build` for packages/web when stale (or always with `force`); returns the exit status. */
export function buildWeb({
  root = ROOT,
  force = false,
  log = (line) => process.stderr.write(`${line}\n`),
} = {}) {
  const stale = force ? "--force" : webBuildStale(root);
  if (stale === null) {
    log("packages/web is up to date: not rebuilt");
    return 0;
  }
  const build = spawnSync("npm", ["run", "build", "--silent", "-w", "@parley/web"], {
    cwd: root,
    stdio: "inherit",
  });
  return build.status ?? 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exit(buildWeb({ force: process.argv.includes("--force") }));
}
