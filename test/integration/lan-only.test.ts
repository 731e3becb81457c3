import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createNetnsPair, type NetnsPair, NetnsUnavailableError } from "./support/netns.js";

// The LAN-only source filter seen from a real peer: the server runs inside one network
// namespace, the client inside another, joined by a veth pair on 203.0.113.0/24 (TEST-NET-3,
// RFC 5737: never routed, and "public" to the filter). Nothing leaves the two namespaces.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(ROOT, "packages/server/src/main.ts");
const SERVER_CIDR = "203.0.113.1/24";
const CLIENT_CIDR = "203.0.113.2/24";
const LAN_ONLY_PORT = 18443;
const ALLOW_PORT = 18444;

/** What one HTTPS GET from inside a namespace saw. */
interface ProbeResult {
  /** The TCP handshake completed (so a refusal came from the server, not from the network). */
  tcpConnected: boolean;
  status?: number;
  body?: string;
  error?: string;
}

// Runs in a bare `node` inside the namespace: one GET, trusting only the server's CA.
const PROBE = `
import { readFileSync } from "node:fs";
import { request } from "node:https";
const [url, caFile] = process.argv.slice(1);
const out = { tcpConnected: false };
const done = () => { process.stdout.write(JSON.stringify(out)); process.exit(0); };
const req = request(url, { ca: readFileSync(caFile), agent: false, timeout: 5000 }, (res) => {
  out.status = res.statusCode;
  let body = "";
  res.setEncoding("utf8");
  res.on("data", (c) => { body += c; });
  res.on("end", () => { out.body = body; done(); });
});
req.on("socket", (s) => s.once("connect", () => { out.tcpConnected = true; }));
req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "PROBE_TIMEOUT" })));
req.on("error", (e) => { out.error = e.code ?? e.message; done(); });
req.end();
`;

/** The environment minus anything that would configure the server from the caller's shell. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("PARLEY_") || ["DATABASE_URL", "REDIS_URL", "NODE_TEST_CONTEXT"].includes(key))
      continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

interface ServerChild {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly events: Record<string, unknown>[];
  waitFor(match: (e: Record<string, unknown>) => boolean, what: string, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

async function startServerIn(
  pair: NetnsPair,
  port: number,
  env: Record<string, string>,
): Promise<ServerChild> {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-lan-only-"));
  const child = spawn(
    "ip",
    pair.execArgv(pair.server, [process.execPath, "--conditions=parley-source", "--import", "tsx", MAIN]),
    {
      cwd: ROOT,
      env: cleanEnv({
        PARLEY_HOST: "0.0.0.0",
        PARLEY_PORT: String(port),
        PARLEY_DATA_DIR: dataDir,
        PARLEY_LOG_LEVEL: "info",
        PARLEY_MDNS: "off",
        ...env,
      }),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const events: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      events.push({ text: line });
    }
    for (const wake of waiters) wake();
  });

  const server: ServerChild = {
    child,
    dataDir,
    events,
    waitFor(match, what, ms = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (events.some(match)) finish();
          else if (child.exitCode !== null || child.signalCode !== null)
            finish(new Error(`server exited before ${what}; stderr: ${stderr.trim()}`));
        };
        const timer = setTimeout(() => finish(new Error(`no ${what} within ${ms} ms`)), ms);
        const finish = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off("exit", check);
          if (error) reject(error);
          else resolve();
        };
        waiters.add(check);
        child.on("exit", check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(killer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await server.waitFor((e) => e.event === "listening", "`listening` log line", 30_000);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** One HTTPS GET run as a child process inside namespace `ns`. */
function probe(pair: NetnsPair, ns: string, url: string, server: ServerChild): Promise<ProbeResult> {
  const caFile = join(server.dataDir, "tls", "ca.crt");
  const argv = pair.execArgv(ns, [process.execPath, "--input-type=module", "-e", PROBE, url, caFile]);
  return new Promise((resolve, reject) => {
    execFile("ip", argv, { env: cleanEnv({}), timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`probe of ${url} in ${ns} failed: ${error.message} ${stderr}`));
      else resolve(JSON.parse(stdout) as ProbeResult);
    });
  });
}

let pair: NetnsPair | undefined;
let skipReason: string | undefined;
let lanOnly: ServerChild | undefined;
let allowing: ServerChild | undefined;

before(async () => {
  try {
    pair = await createNetnsPair({
      // Unique per run, and still under the 15-character limit once prefixed.
      tag: process.pid.toString(36) + Math.floor(Math.random() * 36 ** 3).toString(36),
      serverCidr: SERVER_CIDR,
      clientCidr: CLIENT_CIDR,
    });
  } catch (e) {
    if (!(e instanceof NetnsUnavailableError)) throw e;
    if (process.env.PARLEY_REQUIRE_SERVICES === "1") {
      throw new Error(
        `PARLEY_REQUIRE_SERVICES=1 but the LAN-only test needs network namespaces: ${e.message}`,
      );
    }
    skipReason = `network namespaces unavailable (needs root and iproute2): ${e.message}`;
    return;
  }
  // Started side by side to halve the wait; each kept as soon as it is up so `after` stops it
  // even when the other one failed.
  const started = await Promise.allSettled([
    startServerIn(pair, LAN_ONLY_PORT, {}).then((s) => {
      lanOnly = s;
    }),
    startServerIn(pair, ALLOW_PORT, { PARLEY_ALLOW_CIDRS: "203.0.113.0/24" }).then((s) => {
      allowing = s;
    }),
  ]);
  for (const outcome of started) if (outcome.status === "rejected") throw outcome.reason;
});

after(async () => {
  await Promise.all([lanOnly?.stop(), allowing?.stop()]);
  await pair?.destroy();
});

test("by default a public source gets its TCP connection closed with no HTTP answer, and is audited", async (t) => {
  if (!pair || !lanOnly) return t.skip(skipReason);
  const result = await probe(
    pair,
    pair.client,
    `https://${pair.serverAddress}:${LAN_ONLY_PORT}/healthz`,
    lanOnly,
  );
  assert.equal(result.tcpConnected, true, "the TCP handshake completed: the server itself refused");
  assert.equal(result.status, undefined, "no HTTP status");
  assert.ok(
    result.error === "ECONNRESET" || result.error === "EPIPE",
    `connection closed by the server, got ${String(result.error)}`,
  );
  await lanOnly.waitFor(
    (e) => e.component === "audit" && e.event === "source_refused" && e.ip === pair?.clientAddress,
    `source_refused audit line for ${pair.clientAddress}`,
  );
});

test("a source inside PARLEY_ALLOW_CIDRS gets 200 from /healthz over verified TLS", async (t) => {
  if (!pair || !allowing) return t.skip(skipReason);
  const result = await probe(
    pair,
    pair.client,
    `https://${pair.serverAddress}:${ALLOW_PORT}/healthz`,
    allowing,
  );
  assert.equal(result.error, undefined);
  assert.equal(result.status, 200);
  assert.ok(!allowing.events.some((e) => e.event === "source_refused"), "nothing refused");
});

test("loopback inside the server's namespace is always accepted", async (t) => {
  if (!pair || !lanOnly || !allowing) return t.skip(skipReason);
  for (const [server, port] of [
    [lanOnly, LAN_ONLY_PORT],
    [allowing, ALLOW_PORT],
  ] as const) {
    const result = await probe(pair, pair.server, `https://127.0.0.1:${port}/healthz`, server);
    assert.equal(result.error, undefined, `port ${port}`);
    assert.equal(result.status, 200, `port ${port}`);
  }
});
