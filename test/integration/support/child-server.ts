import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestServer } from "./harness.js";

const MAIN = fileURLToPath(new URL("../../../packages/server/src/main.ts", import.meta.url));

/** The real server as its own process (`main.ts`), for signals, memory and descriptor figures. */
export interface ChildServer {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Enough of a TestServer for `request`, `registerUser` and `TestSocket`. */
  readonly ts: TestServer;
  /** Every JSON log line the server wrote so far. */
  readonly events: Record<string, unknown>[];
  /** Every line of standard output as written, JSON or not. */
  readonly stdoutLines: string[];
  /** Every line the server wrote to standard error so far (the start banner when not a terminal). */
  readonly stderrLines: string[];
  readonly exited: Promise<number | null>;
  /** Resolves once the server's standard output has closed: every log line is in `events`. */
  readonly outputClosed: Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

export async function startChildServer(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const child = spawn(process.execPath, ["--conditions=parley-source", "--import", "tsx", MAIN], {
    env: {
      ...process.env,
      PARLEY_HOST: "127.0.0.1",
      PARLEY_PORT: "0",
      PARLEY_DATA_DIR: dataDir,
      PARLEY_MDNS: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stderrLines: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) =>
    stderrLines.push(line),
  );
  const events: Record<string, unknown>[] = [];
  const stdoutLines: string[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const outputClosed = new Promise<void>((resolve) => lines.once("close", () => resolve()));
  const listening = await new Promise<{ urls: string[] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start within 180 s")), 180_000);
    lines.on("line", (line) => {
      stdoutLines.push(line);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      events.push(entry);
      if (entry.event === "listening") {
        clearTimeout(timer);
        resolve(entry as unknown as { urls: string[] });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error("server exited before listening"));
    });
  }).catch((e: unknown) => {
    if (child.exitCode === null) child.kill("SIGKILL");
    throw e;
  });
  const url = listening.urls[0] ?? "";
  const ca = env.PARLEY_TLS === "off" ? null : await readFile(join(dataDir, "tls", "ca.crt"), "utf8");
  const ts = {
    url,
    ca,
    wsUrl: `${url.replace(/^http/, "ws")}/ws`,
    dataDir,
    logs: [],
  } as unknown as TestServer;
  return {
    child,
    pid: child.pid ?? 0,
    ts,
    events,
    stdoutLines,
    stderrLines,
    exited,
    outputClosed,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Resident memory (bytes) and open file descriptors of a process, from /proc (Linux). */
export async function processFigures(pid: number): Promise<{ rssBytes: number; fds: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  return { rssBytes: Number(rss?.[1] ?? 0) * 1024, fds };
}
