import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Run, runCommand } from "./support/cli.js";
import { createNetnsPair, type NetnsPair, NetnsUnavailableError } from "./support/netns.js";

// mDNS discovery between two network namespaces joined by a veth pair on 198.51.100.0/24
// (TEST-NET-2, RFC 5737). The server (`parley server`, mDNS pinned to its veth address) runs in
// one, `parley discover` (pinned to the other end) in the other: every multicast packet stays on
// a link that exists only inside the namespaces this test makes (shared/DESIGN.md).

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(ROOT, "packages/cli/src/main.ts");
const NODE_ARGS = ["--conditions=parley-source", "--import", "tsx", CLI];
const SERVER_CIDR = "198.51.100.1/24";
const CLIENT_CIDR = "198.51.100.2/24";
const ADVERTISED_PORT = 18453;
const SILENT_PORT = 18454;

/** The environment minus anything that would configure the server or CLI from the caller's shell. */
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
  readonly events: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
  waitFor(
    match: (e: Record<string, unknown>) => boolean,
    what: string,
    ms?: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<number | null>;
}

/** `parley server` inside the server namespace, its JSON log lines collected. */
async function startServerIn(
  pair: NetnsPair,
  port: number,
  env: Record<string, string>,
): Promise<ServerChild> {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-mdns-"));
  const child = spawn(
    "ip",
    pair.execArgv(pair.server, [
      process.execPath,
      ...NODE_ARGS,
      "server",
      "--host",
      "0.0.0.0",
      "--port",
      String(port),
      "--data-dir",
      dataDir,
    ]),
    { cwd: ROOT, env: cleanEnv({ PARLEY_LOG_LEVEL: "info", ...env }), stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
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
    events,
    exited,
    waitFor(match, what, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) finish(undefined, found);
          else if (child.exitCode !== null || child.signalCode !== null)
            finish(new Error(`server exited before ${what}; stderr: ${stderr.trim()}`));
        };
        const timer = setTimeout(() => finish(new Error(`no ${what} within ${ms} ms`)), ms);
        const finish = (error?: Error, found?: Record<string, unknown>) => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off("exit", check);
          if (error) reject(error);
          else resolve(found ?? {});
        };
        waiters.add(check);
        child.on("exit", check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(killer);
      }
      await rm(dataDir, { recursive: true, force: true });
      return exited;
    },
  };
  try {
    await server.waitFor((e) => e.event === "listening", "`listening` log line", 60_000);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** Runs argv inside namespace `ns` to its end (bounded by `ms`). */
function runIn(pair: NetnsPair, ns: string, argv: string[], ms = 30_000): Promise<Run> {
  return runCommand("ip", pair.execArgv(ns, argv), {}, ms);
}

interface Discovered {
  name: string;
  address: string | null;
  port: number;
  tls: boolean;
  caFingerprint: string | null;
  protocolVersion: number | null;
  url: string | null;
}

async function discover(pair: NetnsPair): Promise<Discovered[]> {
  const run = await runIn(pair, pair.client, [
    process.execPath,
    ...NODE_ARGS,
    "discover",
    "--interface",
    pair.clientAddress,
    "--json",
    "--timeout",
    "3",
  ]);
  assert.equal(run.code, 0, `discover failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { servers: Discovered[] }).servers;
}

// Listens on the client end and prints every mDNS answer as one JSON line, to see goodbyes.
const SNIFFER = `
import mdns from "multicast-dns";
const m = mdns({ interface: process.argv[1], bind: "0.0.0.0" });
m.on("response", (r) => {
  for (const a of [...r.answers, ...r.additionals]) {
    process.stdout.write(JSON.stringify({ name: a.name, type: a.type, ttl: a.ttl, data: typeof a.data === "string" ? a.data : null }) + "\\n");
  }
});
m.on("ready", () => process.stdout.write(JSON.stringify({ ready: true }) + "\\n"));
setTimeout(() => m.destroy(), 30000);
`;

let pair: NetnsPair | undefined;
let skipReason: string | undefined;
let advertised: ServerChild | undefined;
let silent: ServerChild | undefined;
let firstLook: Promise<Discovered[]> | undefined;

before(async () => {
  try {
    pair = await createNetnsPair({
      tag: `m${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 2).toString(36)}`,
      serverCidr: SERVER_CIDR,
      clientCidr: CLIENT_CIDR,
    });
  } catch (e) {
    if (!(e instanceof NetnsUnavailableError)) throw e;
    if (process.env.PARLEY_REQUIRE_SERVICES === "1") {
      throw new Error(`PARLEY_REQUIRE_SERVICES=1 but the mDNS test needs network namespaces: ${e.message}`);
    }
    skipReason = `network namespaces unavailable (needs root and iproute2): ${e.message}`;
    return;
  }
  const p = pair;
  const started = await Promise.allSettled([
    startServerIn(p, ADVERTISED_PORT, { PARLEY_MDNS: "on", PARLEY_MDNS_INTERFACE: p.serverAddress }).then(
      (s) => {
        advertised = s;
      },
    ),
    startServerIn(p, SILENT_PORT, { PARLEY_MDNS: "off" }).then((s) => {
      silent = s;
    }),
  ]);
  for (const outcome of started) if (outcome.status === "rejected") throw outcome.reason;
  await advertised?.waitFor((e) => e.event === "mdns_advertising", "`mdns_advertising` log line", 15_000);
});

after(async () => {
  await Promise.all([advertised?.stop(), silent?.stop()]);
  await pair?.destroy();
});

/** One discovery run shared by the tests that only read it. */
function lookOnce(p: NetnsPair): Promise<Discovered[]> {
  firstLook ??= discover(p);
  return firstLook;
}

test("parley discover in another namespace finds the server with its port, TLS and CA fingerprint", async (t) => {
  if (!pair || !advertised) return t.skip(skipReason);
  const listening = await advertised.waitFor((e) => e.event === "listening", "listening");
  const servers = await lookOnce(pair);
  const found = servers.filter((s) => s.port === ADVERTISED_PORT);
  assert.equal(found.length, 1, JSON.stringify(servers));
  const server = found[0] as Discovered;
  assert.match(server.name, /^Parley on /);
  assert.equal(server.address, pair.serverAddress);
  assert.equal(server.tls, true);
  assert.equal(server.protocolVersion, 1);
  assert.equal(typeof listening.caFingerprint, "string");
  assert.equal(server.caFingerprint, listening.caFingerprint);
  assert.equal(server.url, `https://${pair.serverAddress}:${ADVERTISED_PORT}`);
});

test("a server started with PARLEY_MDNS=off is not found", async (t) => {
  if (!pair || !silent) return t.skip(skipReason);
  const servers = await lookOnce(pair);
  assert.ok(servers.length > 0, "discovery itself works in this namespace");
  assert.deepEqual(
    servers.filter((s) => s.port === SILENT_PORT),
    [],
  );
  assert.ok(!silent.events.some((e) => e.component === "mdns"), "the silent server logged no mDNS activity");
});

test("stopping the server sends a goodbye (TTL 0), after which nothing is found", async (t) => {
  if (!pair || !advertised) return t.skip(skipReason);
  const p = pair;
  const sniffer = spawn(
    "ip",
    p.execArgv(p.client, [process.execPath, "--input-type=module", "-e", SNIFFER, p.clientAddress]),
    { cwd: ROOT, env: cleanEnv({}), stdio: ["ignore", "pipe", "inherit"] },
  );
  const sniffed = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no goodbye within 20 s")), 20_000);
    createInterface({ input: sniffer.stdout }).on("line", (line) => {
      const rr = JSON.parse(line) as Record<string, unknown>;
      if (rr.ready) {
        void advertised?.stop();
        return;
      }
      if (rr.type === "PTR" && rr.name === "_parley._tcp.local" && rr.ttl === 0) {
        clearTimeout(timer);
        resolve(rr);
      }
    });
  });
  try {
    const goodbye = await sniffed;
    assert.match(String(goodbye.data), /^Parley on .*\._parley\._tcp\.local$/);
  } finally {
    sniffer.kill("SIGTERM");
  }
  assert.equal(await advertised.exited, 0, "the server exits 0 after SIGTERM");

  const run = await runIn(p, p.client, [
    process.execPath,
    ...NODE_ARGS,
    "discover",
    "--interface",
    p.clientAddress,
    "--timeout",
    "2",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), "no Parley servers found");
});
