import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

export const REDIS_SERVER = "/usr/bin/redis-server";

/** A free TCP port on 127.0.0.1 (free when asked: a race with other processes is possible, not likely). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A private redis-server on 127.0.0.1 for tests that stop and restart Redis (the shared one
 * must stay up). No persistence, as docs/OPERATIONS.md prescribes: a restart starts empty.
 */
export class RedisProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #dir: string | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts it and resolves once it answers PING (at most 20 s). */
  async start(): Promise<void> {
    if (this.#child) throw new Error("already running");
    this.#dir ??= await mkdtemp(join(tmpdir(), "parley-redis-"));
    const child = spawn(
      REDIS_SERVER,
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { cwd: this.#dir, stdio: ["ignore", "ignore", "pipe"] },
    );
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const probe = new Redis(this.url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on("error", () => undefined); // refused until it is up: expected
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          if (probe.status !== "ready") await probe.connect();
          if ((await probe.ping()) === "PONG") return;
        } catch {
          // not up yet
        }
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
        if (Date.now() > deadline) throw new Error("redis-server did not answer within 20 s");
        probe.disconnect();
        await sleep(50);
      }
    } finally {
      probe.disconnect();
    }
  }

  /** Sends `signal` to it by PID and waits for the exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.#child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, signal);
    await this.#exited;
    this.#child = undefined;
  }

  /** Stops it (SIGKILL if still running) and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop("SIGKILL");
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }
}
