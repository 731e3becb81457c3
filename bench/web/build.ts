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
export async function ensureWebBuilt(timeoutMs: number): Promise<BuildOutcome> {
  if (await exists(join(WEB_DIST, "index.html"))) return { state: "built" };
  if (!(await exists(CONFIG)))
    return { state: "not built", note: "packages/web has no vite.config.ts", ms: null };
  if (!(await exists(VITE))) return { state: "not built", note: "vite is not installed", ms: null };
  const t = performance.now();
  const child = spawnChild({
    argv: [process.execPath, VITE, "build", "--config", CONFIG, "--logLevel", "warn"],
    pin: [],
    env: { NODE_ENV: "production" },
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
    return { state: "not built", note: `the build took more than ${Math.round(timeoutMs / 1000)} s`, ms };
  }
  if (code !== 0 || !(await exists(join(WEB_DIST, "index.html")))) {
    return { state: "not built", note: `the build failed: ${firstError(child.stderrTail())}`, ms };
  }
  return { state: "built now", ms };
}

/** The line of a build's stderr that says what went wrong, without stack frames. */
export function firstError(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("at "));
  const hit = lines.find((l) => /\berror\b/i.test(l) && l.length > "Error:".length + 2);
  return (hit ?? lines.at(-1) ?? "no output").slice(0, 300);
}
