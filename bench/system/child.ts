import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/**
 * Child processes of the benchmark: the servers under test and the generator processes. Each is
 * started through `sh` so that the open-file limit can be raised (`ulimit -n`, which the shell
 * has and Node has not) before `exec`, so the pid we hold is the program's own pid; every child
 * is recorded so that it is stopped, by that pid, whatever happens to the run.
 */

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** node flags that run this repository's TypeScript sources directly. */
export const TS_NODE_ARGS = ["--conditions=parley-source", "--import", "tsx"] as const;

export interface SpawnOptions {
  /** Program and arguments, e.g. [process.execPath, ...TS_NODE_ARGS, file]. */
  readonly argv: readonly string[];
  /** Prefix such as ["taskset", "-c", "0"]; [] for none. */
  readonly pin: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Open-file limit to ask for; the shell falls back to the hard limit when refused. */
  readonly openFiles: number;
  /** Open an IPC channel (structured-clone serialisation). */
  readonly ipc?: boolean;
  readonly label: string;
  /** Working directory; default the repository root. */
  readonly cwd?: string;
}

export interface Child {
  readonly pid: number;
  readonly label: string;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process ended. */
  readonly exited: Promise<number | string>;
  /** Adds a listener for stdout lines; returns its removal. */
  onLine(listener: (line: string) => void): () => void;
  /** The last lines of stderr, for error messages. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`, by pid. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Child>();

export function spawnChild(o: SpawnOptions): Child {
  // `exec "$@"` replaces the shell, so the pid is the program's (taskset itself execs too).
  const script = `ulimit -n ${o.openFiles} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  const proc = spawn("sh", ["-c", script, "sh", ...o.pin, ...o.argv], {
    cwd: o.cwd ?? REPO_ROOT,
    env: { ...process.env, ...o.env },
    stdio: ["ignore", "pipe", "pipe", ...(o.ipc ? (["ipc"] as const) : [])],
    ...(o.ipc ? { serialization: "advanced" as const } : {}),
  });
  if (proc.pid === undefined) throw new Error(`could not start ${o.label}`);
  const pid = proc.pid;
  const tail: string[] = [];
  const listeners = new Set<(line: string) => void>();
  // Always drain both pipes: a child blocked on a full stdout pipe would stall the benchmark.
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    for (const l of listeners) l(line);
  });
  createInterface({ input: proc.stderr as NodeJS.ReadableStream }).on("line", (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  });
  const exited = new Promise<number | string>((resolve) => {
    proc.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  const child: Child = {
    pid,
    label: o.label,
    process: proc,
    exited,
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stderrTail: () => tail.join("\n"),
    async stop(graceMs = 10_000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        signal(pid, "SIGTERM");
        const timer = setTimeout(() => signal(pid, "SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
    },
  };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Stops every child still running, by pid; used on every exit path of the run. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(3000)));
}

/** Synchronous last resort for process exit: SIGKILL by pid to every child still recorded. */
export function killAllChildrenNow(): void {
  for (const c of live) signal(c.pid, "SIGKILL");
}

/** Resolves when `predicate` is true for a stdout line, rejects on exit or after `timeoutMs`. */
export function waitForLine<T>(
  child: Child,
  predicate: (line: string) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const unsubscribe = child.onLine((line) => {
      if (done) return;
      const value = predicate(line);
      if (value === undefined) return;
      done = true;
      unsubscribe();
      clearTimeout(timer);
      resolve(value);
    });
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      unsubscribe();
      reject(new Error(`${child.label} not ready after ${timeoutMs} ms\n${child.stderrTail()}`));
    }, timeoutMs);
    void child.exited.then((code) => {
      if (done) return;
      done = true;
      unsubscribe();
      clearTimeout(timer);
      reject(new Error(`${child.label} exited (${code}) before it was ready\n${child.stderrTail()}`));
    });
  });
}
