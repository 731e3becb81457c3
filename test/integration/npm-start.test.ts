import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { ROOT } from "./support/cli.js";

/**
 * `npm start`, exactly as the README tells a newcomer to run it, with its output going to pipes
 * (a service or a log file, not a terminal), twice over the same temporary data directory on an
 * ephemeral loopback port (issue 20): no npm or Vite warning line, one plain line with the
 * address, the CA fingerprint and the trust page, no QR code; the second start finds the build
 * current and rebuilds nothing. Each server is stopped by its own PID (from its JSON log line).
 */

const START_TIMEOUT_MS = 600_000;
const STOP_TIMEOUT_MS = 30_000;
const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;
/** Output a newcomer would read as a warning: npm's, Vite's (rolldown's "(!)" and plugin notes). */
const WARNING = /\bwarn(ing)?\b|\(!\)|\[plugin /i;

interface Started {
  /** Every line of stdout and stderr that is not a JSON log line, in order. */
  plain: string[];
  /** The server's JSON log lines. */
  events: Record<string, unknown>[];
  serverPid: number;
  url: string;
}

let tmp: string;
const running = new Set<ChildProcess>();

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "parley-npm-start-"));
});

after(async () => {
  // Only what this file started, and only if a test left it running: npm's process group.
  for (const child of running) if (child.pid !== undefined && child.exitCode === null) killGroup(child.pid);
  await rm(tmp, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Runs `npm start` until the server logs `listening` and its plain start line is written. */
async function npmStart(dataDir: string): Promise<Started & { stop(): Promise<void> }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PARLEY_HOST: "127.0.0.1",
    PARLEY_PORT: "0",
    PARLEY_DATA_DIR: dataDir,
    PARLEY_MDNS: "off",
  };
  // What a newcomer's shell has: not the test runner's NODE_ENV or its source-condition flags.
  delete env.NODE_ENV;
  delete env.NODE_OPTIONS;
  const child = spawn("npm", ["start"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const plain: string[] = [];
  const events: Record<string, unknown>[] = [];
  let listening: Record<string, unknown> | undefined;
  const onLine = (line: string) => {
    if (line.startsWith("{")) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        events.push(entry);
        if (entry.event === "listening") listening = entry;
        return;
      } catch {
        // Not JSON after all: a plain line.
      }
    }
    plain.push(line);
  };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", onLine);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (listening === undefined || !plain.some((l) => l.startsWith("Parley is up at "))) {
    if (child.exitCode !== null) assert.fail(`npm start exited (${child.exitCode}):\n${plain.join("\n")}`);
    if (Date.now() > deadline) {
      killGroup(child.pid as number);
      assert.fail(`npm start: no server within ${START_TIMEOUT_MS / 1000} s:\n${plain.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const serverPid = await serverPidUnder(child.pid as number);
  assert.ok(serverPid !== undefined, "the server process under npm start");
  const url = (listening.urls as string[])[0] ?? "";
  return {
    plain,
    events,
    serverPid: serverPid as number,
    url,
    stop: async () => {
      // The server by its PID: npm then exits on its own.
      process.kill(serverPid as number, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), STOP_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      running.delete(child);
      if (!stopped) {
        killGroup(child.pid as number);
        assert.fail("npm start did not end after its server was stopped");
      }
      // And the server itself is gone, not left running without its npm.
      const gone = () => {
        try {
          process.kill(serverPid as number, 0);
          return false;
        } catch {
          return true;
        }
      };
      for (let i = 0; i < STOP_TIMEOUT_MS / 100 && !gone(); i++) await new Promise((r) => setTimeout(r, 100));
      if (!gone()) {
        process.kill(serverPid as number, "SIGKILL");
        assert.fail("the server was still running after npm start ended");
      }
    },
  };
}

/** The PID of `node packages/server/dist/main.js` among the descendants of `root` (Linux /proc). */
async function serverPidUnder(root: number): Promise<number | undefined> {
  const parents = new Map<number, number>();
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = await readFile(`/proc/${name}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing parenthesis.
      const ppid = Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(name), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parents.get(pid), hops = 0; p !== undefined && hops < 64; p = parents.get(p), hops++)
      if (p === root) return true;
    return false;
  };
  for (const pid of parents.keys()) {
    if (!under(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    // Node itself, not the shell npm runs the start script in: its one argument is the whole
    // script, which ends with the same path (signalling the shell left the server running).
    const [program = "", ...args] = cmd.split("\0");
    if (basename(program) === "node" && args.some((arg) => arg.endsWith("packages/server/dist/main.js")))
      return pid;
  }
  return undefined;
}

/** Modification times of what the build writes: the server's entry point and the web client's page. */
async function buildOutputs(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of [
    "packages/server/dist/main.js",
    "packages/cli/dist/main.js",
    "packages/web/dist/index.html",
  ])
    out[p] = (await stat(join(ROOT, p))).mtimeMs;
  return out;
}

describe("npm start, output not on a terminal", () => {
  it("prints no warning, the address, CA fingerprint and trust page as a plain line, no QR; a second start rebuilds nothing", async () => {
    const dataDir = join(tmp, "data");
    const first = await npmStart(dataDir);
    let built: Record<string, number>;
    try {
      const fingerprint = new X509Certificate(await readFile(join(dataDir, "tls", "ca.crt"), "utf8"))
        .fingerprint256;
      assert.match(fingerprint, FINGERPRINT);
      assert.match(first.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(new URL(first.url).port, "0", "an ephemeral port was chosen");
      assert.ok(
        first.plain.includes(
          `Parley is up at ${first.url}; CA SHA-256 fingerprint ${fingerprint}; trust page ${first.url}/#/trust`,
        ),
        first.plain.join("\n"),
      );
      assert.deepEqual(
        first.plain.filter((l) => WARNING.test(l)),
        [],
        "warning lines in npm start's output",
      );
      assert.ok(!first.plain.some((l) => /[█▀▄]/.test(l)), "no QR code when not on a terminal");
      built = await buildOutputs();
    } finally {
      await first.stop();
    }

    const second = await npmStart(dataDir);
    try {
      assert.ok(
        second.plain.includes("packages/web is up to date: not rebuilt"),
        `the second start says the web build is current:\n${second.plain.join("\n")}`,
      );
      assert.deepEqual(await buildOutputs(), built, "the second start rewrote build outputs");
      assert.deepEqual(
        second.plain.filter((l) => WARNING.test(l)),
        [],
        "warning lines in the second start's output",
      );
      assert.ok(
        second.plain.some((l) => l.startsWith(`Parley is up at ${second.url}; CA SHA-256 fingerprint `)),
      );
    } finally {
      await second.stop();
    }
  });
});
