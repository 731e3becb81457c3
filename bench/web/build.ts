import { access } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ROOT, spawnChild } from "../system/child.js";

export const WEB_DIST = join(REPO_ROOT, "packages/web/dist");
const VITE = join(REPO_ROOT, "node_modules/vite/bin/vite.js");
const CONFIG = join(REPO_ROOT, "packages/web/vite.config.ts");

export type BuildOutcome =
  | { state: "built" }
  | { state: "built now"; ms: number }
  | { state: "not built"; note: string; ms: number | null };

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * packages/web/dist as the server would serve it. When there is none, runs the production build
 * once (`vite build` with the package's config: what `npm run build -w @parley/web` runs), in a
 * child process stopped by its pid after `timeoutMs`. An existing dist is used as it is.
 */
export async function ensureWebBuilt(
  timeoutMs: number,
  where: { dist: string; config: string } = { dist: WEB_DIST, config: CONFIG },
): Promise<BuildOutcome> {
  if (await exists(join(where.dist, "index.html"))) return { state: "built" };
  if (!(await exists(where.config)))
    return { state: "not built", note: "packages/web has no vite.config.ts", ms: null };
  if (!(await exists(VITE))) return { state: "not built", note: "vite is not installed", ms: null };
  const t = performance.now();
  const child = spawnChild({
    argv: [process.execPath, VITE, "build", "--config", where.config, "--logLevel", "warn"],
    pin: [],
    env: { NODE_ENV: "production", NO_COLOR: "1", FORCE_COLOR: "0" },
    openFiles: 4096,
    label: "vite build",
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const code = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  const ms = performance.now() - t;
  if (code === "timeout") {
    await child.stop(3000);
    return { state: "not built", note: `the build took more than ${timeoutMs / 1000} s`, ms };
  }
  if (code !== 0 || !(await exists(join(where.dist, "index.html")))) {
    return { state: "not built", note: `the build failed: ${firstError(child.stderrTail())}`, ms };
  }
  return { state: "built now", ms };
}

/** The line of a build's stderr that says what went wrong, without colours or stack frames. */
export function firstError(stderr: string): string {
  const lines = stderr
    .replaceAll(ANSI, "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("at "));
  const i = lines.findIndex((l) => /\berror\b/i.test(l) && l.length > "Error:".length + 2);
  // "error during build:" names no cause; the cause is on the next line.
  const hit = i < 0 ? undefined : lines[i]?.endsWith(":") ? `${lines[i]} ${lines[i + 1] ?? ""}` : lines[i];
  return (hit ?? lines.at(-1) ?? "no output").trim().slice(0, 300);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal colour codes is the point
const ANSI = /\u001b\[[0-9;]*m/g;
