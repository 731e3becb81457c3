import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("./cluster-node.ts", import.meta.url));

/** A Parley server in a child process (support/cluster-node.ts), on 127.0.0.1 and an ephemeral port. */
export interface NodeProcess {
  readonly nodeId: string;
  readonly pid: number;
  readonly url: string;
  readonly wsUrl: string;
  /** The CA the node's certificate chains to (shared by the nodes of one cluster). */
  readonly ca: string;
  readonly dataDir: string;
  /** Every log line so far. */
  readonly logs: string[];
  readonly exited: Promise<number | null>;
  /** SIGKILL by PID if still running, then removes the data dir. */
  stop(): Promise<void>;
}

export interface SpawnNodeOptions {
  redisUrl: string;
  databaseUrl: string;
  redisPrefix: string;
  /** Copy the JWT secret and the local CA (tls/ca.crt, tls/ca.key) of this node first. */
  shareWith?: NodeProcess;
  heartbeatMs?: number;
  presenceTtlMs?: number;
  env?: Record<string, string>;
}

/**
 * Starts a node and resolves once it listens. The nodes of one cluster share the JWT secret
 * (tokens work on every node) and the local CA (a client trusts one CA for all of them), as
 * docs/OPERATIONS.md, "Several servers", tells operators to do; each issues its own leaf.
 */
export async function spawnNode(options: SpawnNodeOptions): Promise<NodeProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-node-"));
  const nodeId = `n-${randomBytes(4).toString("hex")}`;
  if (options.shareWith) {
    const from = options.shareWith.dataDir;
    await mkdir(join(dataDir, "tls"), { recursive: true, mode: 0o700 });
    for (const [file, mode] of [
      ["jwt.secret", 0o600],
      ["tls/ca.crt", 0o644],
      ["tls/ca.key", 0o600],
    ] as const) {
      await copyFile(join(from, file), join(dataDir, file));
      await chmod(join(dataDir, file), mode);
    }
  }
  const child: ChildProcess = spawn(
    process.execPath,
    ["--conditions=parley-source", "--import", "tsx", ENTRY],
    {
      env: {
        ...process.env,
        NODE_ENV: "test",
        PARLEY_HOST: "127.0.0.1",
        PARLEY_PORT: "0",
        PARLEY_DATA_DIR: dataDir,
        PARLEY_MDNS: "off",
        PARLEY_NODE_ID: nodeId,
        PARLEY_LOG_LEVEL: "info",
        REDIS_URL: options.redisUrl,
        DATABASE_URL: options.databaseUrl,
        PARLEY_REDIS_KEY_PREFIX: options.redisPrefix,
        ...(options.heartbeatMs ? { PARLEY_TEST_HEARTBEAT_MS: String(options.heartbeatMs) } : {}),
        ...(options.presenceTtlMs ? { PARLEY_TEST_PRESENCE_TTL_MS: String(options.presenceTtlMs) } : {}),
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const pid = child.pid;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const logs: string[] = [];
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && pid !== undefined)
      process.kill(pid, "SIGKILL");
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    if (pid === undefined) throw new Error("the node process did not start");
    child.stderr?.on("data", (chunk: Buffer) => logs.push(String(chunk)));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("node did not listen within 60 s")), 60_000);
      lines.on("line", (line) => {
        logs.push(line);
        try {
          const entry = JSON.parse(line) as { event?: string; urls?: string[] };
          if (entry.event === "listening" && entry.urls?.[0]) {
            clearTimeout(timer);
            resolve(entry.urls[0]);
          }
        } catch {
          // not a log line
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`node exited before listening:\n${logs.join("\n")}`));
      });
    });
    const ca = await readFile(join(dataDir, "tls", "ca.crt"), "utf8");
    return { nodeId, pid, url, wsUrl: `${url.replace(/^https/, "wss")}/ws`, ca, dataDir, logs, exited, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Deletes every key under a test run's own prefix: the bus contract suite's helper. */
export { deleteKeys } from "../../../packages/server/src/bus/bus-contract.js";
