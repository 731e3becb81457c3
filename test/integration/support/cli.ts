import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// The `parley` command as a person runs it: a child process on the TypeScript sources.

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
export const CLI = join(ROOT, "packages/cli/src/main.ts");
/** How node runs the CLI from source: `[...NODE_ARGS, CLI, ...args]`. */
export const NODE_ARGS = ["--conditions=parley-source", "--import", "tsx"] as const;

/** The environment minus anything that would configure the server or CLI from the caller's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("PARLEY_") || ["DATABASE_URL", "REDIS_URL", "NODE_TEST_CONTEXT"].includes(key))
      continue;
    env[key] = value;
  }
  // Multicast stays off outside the test namespaces (shared/DESIGN.md).
  return { ...env, PARLEY_MDNS: "off", ...extra };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `parley <args>` to its end (stdin closed); kills it and fails after `ms`. */
export function parley(args: string[], env: Record<string, string> = {}, ms = 60_000): Promise<Run> {
  return runCommand(process.execPath, [...NODE_ARGS, CLI, ...args], env, ms);
}

/**
 * Runs a command to its end from the repository root, stdin closed and the environment cleaned
 * (cleanEnv); kills it and fails after `ms`.
 */
export function runCommand(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  ms = 60_000,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    child.once("error", reject);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish within ${ms} ms`));
    }, ms);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export const lines = (text: string) => text.split("\n").filter((l) => l.length > 0);

/**
 * An interactive `parley …` driven through pipes: lines written to its stdin, its output read
 * back with bounded waits. stop() ends it (stdin closed, then SIGKILL if it lingers).
 */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;

  /**
   * `wrap` turns the node command line into another, e.g. one run inside a network namespace:
   * (argv) => ["ip", ["netns", "exec", ns, ...argv]].
   */
  constructor(
    args: string[],
    env: Record<string, string> = {},
    wrap: (argv: string[]) => [string, string[]] = ([command = "", ...rest]) => [command, rest],
    /** Another TypeScript entry point than the CLI (a test fixture). */
    script = CLI,
  ) {
    const [command, argv] = wrap([process.execPath, ...NODE_ARGS, script, ...args]);
    this.child = spawn(command, argv, { cwd: ROOT, env: cleanEnv(env) });
    this.child.stdout.setEncoding("utf8").on("data", (c: string) => {
      this.stdout += c;
    });
    this.child.stderr.setEncoding("utf8").on("data", (c: string) => {
      this.stderr += c;
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  send(...input: string[]): void {
    for (const line of input) this.child.stdin.write(`${line}\n`);
  }

  /**
   * Resolves with the first stdout line after `from` (an offset into stdout) that matches;
   * fails after `ms` (polling every 50 ms) or when the process exits first.
   */
  async waitFor(match: RegExp | string, ms = 30_000, from = 0): Promise<string> {
    const test = (l: string) => (typeof match === "string" ? l.includes(match) : match.test(l));
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    const end = Date.now() + ms;
    for (;;) {
      const found = this.stdout.slice(from).split("\n").find(test);
      if (found !== undefined) return found;
      if (exited || Date.now() > end) {
        throw new Error(
          `${exited ? "exited" : `not within ${ms} ms`} waiting for ${String(match)}\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `ms`. */
  async kill(signal: NodeJS.Signals = "SIGTERM", ms = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends stdin (as Ctrl-D would) and waits for the exit; SIGKILL after `ms`. */
  async stop(ms = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
