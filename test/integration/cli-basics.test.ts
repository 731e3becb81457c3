import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { CLI, cleanEnv, lines, parley, ROOT, runCommand } from "./support/cli.js";
import { request } from "./support/harness.js";

// The `parley` command as a person runs it: a child process on the TypeScript sources.

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "parley-cli-basics-"));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("help", () => {
  it("answers --help for the command and every subcommand with usage and exit 0", async () => {
    const cases = [
      ["--help"],
      ["server", "--help"],
      ["discover", "--help"],
      ["admin", "--help"],
      ["admin", "invite", "--help"],
      ["chat", "--help"],
    ];
    const runs = await Promise.all(cases.map((args) => parley(args)));
    runs.forEach((run, i) => {
      const args = (cases[i] ?? []).join(" ");
      assert.equal(run.code, 0, `parley ${args}: ${run.stderr}`);
      const expected = args === "--help" ? "usage: parley <command>" : `usage: parley ${cases[i]?.[0]}`;
      assert.ok(run.stdout.startsWith(expected), `parley ${args} printed: ${run.stdout.slice(0, 80)}`);
      assert.equal(run.stderr, "");
    });
    // Every setting of the server is a flag of `parley server`.
    const serverHelp = runs[1]?.stdout ?? "";
    for (const flag of ["--port", "--data-dir", "--registration", "--mdns", "--mdns-interface"]) {
      assert.ok(serverHelp.includes(`${flag} VALUE`), flag);
    }
  });
});

describe("npx parley", () => {
  it("runs the command npm linked from this repository, never one from the registry, with its exit status", async () => {
    // `--no`: npm exec may not install anything, so a missing link fails instead of downloading
    // whatever the registry calls "parley"; offline, so it could not even ask.
    const npx = (args: string[]) => runCommand("npm", ["exec", "--no", "--offline", "--", "parley", ...args]);
    const help = await npx(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.ok(help.stdout.startsWith("usage: parley <command>"), help.stdout.slice(0, 80));
    const unknown = await npx(["frobnicate"]);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /^parley: unknown command "frobnicate"/m);
  });
});

describe("errors", () => {
  it("refuses an unknown subcommand with one line and exit 2", async () => {
    const run = await parley(["frobnicate"]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, /^parley: unknown command "frobnicate"/);
  });

  it("refuses `chat` with something that is not a URL, in one line with exit 2", async () => {
    const runs = await Promise.all([parley(["chat", "not a url"]), parley(["chat", "--timeout", "soon"])]);
    for (const run of runs) {
      assert.equal(run.code, 2, run.stderr);
      assert.equal(lines(run.stderr).length, 1, run.stderr);
      assert.match(run.stderr, /^parley chat: /);
    }
  });

  it("refuses bad options in one line with exit 2", async () => {
    const runs = await Promise.all([
      parley(["discover", "--timeout", "soon"]),
      parley(["discover", "--bogus"]),
      parley(["admin", "users"]),
      parley(["admin", "disable"]),
      parley(["admin", "users", "--ttl-hours", "3", "--user", "x"]),
      parley(["server", "--port", "99999"]),
    ]);
    for (const run of runs) {
      assert.equal(run.code, 2, run.stderr);
      assert.equal(lines(run.stderr).length, 1, run.stderr);
      assert.match(run.stderr, /^parley (discover|admin|server): /);
    }
  });

  it("fails `admin promote` on a data dir without a database, with one line and exit 1", async () => {
    const run = await parley(["admin", "promote", "alice", "--data-dir", join(tmp, "empty")]);
    assert.equal(run.code, 1);
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, /^parley admin: no Parley database at /);
  });
});

describe("parley server", () => {
  it("starts, serves /healthz over HTTPS, and exits 0 on SIGTERM", async () => {
    const dataDir = join(tmp, "server");
    const child = spawn(
      process.execPath,
      [
        "--conditions=parley-source",
        "--import",
        "tsx",
        CLI,
        "server",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--data-dir",
        dataDir,
      ],
      { cwd: ROOT, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const listening = await new Promise<{ urls: string[] }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no `listening` line within 60 s")), 60_000);
        createInterface({ input: child.stdout }).on("line", (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.event === "listening") {
            clearTimeout(timer);
            resolve(entry as unknown as { urls: string[] });
          }
        });
        child.once("exit", () => reject(new Error("server exited before listening")));
      });
      const url = listening.urls[0] ?? "";
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await readFile(join(dataDir, "tls", "ca.crt"), "utf8");
      const health = await request({ url, ca }, "GET", "/healthz");
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: "ok" });
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0);
  });
});
