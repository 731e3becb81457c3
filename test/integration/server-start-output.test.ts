import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { until } from "../e2e/support/wait.js";
import { startChildServer } from "./support/child-server.js";
import { NODE_ARGS, ROOT } from "./support/cli.js";
import { TmuxSession, haveTmux as tmuxInstalled } from "./support/tmux.js";

/**
 * What a person sees when the server starts (issue 20): on a terminal, readable log lines and a
 * banner with the fingerprint in whole-byte lines and a QR code; elsewhere (a service, a log
 * file), JSON logs on stdout and one plain line with the address, fingerprint and trust page.
 */

const QR_ROW = /^[ █▀▄]{20,}$/;
const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "parley-start-output-"));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function caFingerprint(dataDir: string): Promise<string> {
  return new X509Certificate(await readFile(join(dataDir, "tls", "ca.crt"), "utf8")).fingerprint256;
}

describe("not on a terminal", () => {
  it("writes JSON lines on stdout and the address, CA fingerprint and trust page as one plain line", async () => {
    const dataDir = join(tmp, "plain");
    const server = await startChildServer(dataDir);
    try {
      const fingerprint = await caFingerprint(dataDir);
      assert.match(fingerprint, FINGERPRINT);
      const banner = await until(
        async () => server.stderrLines.find((l) => l.startsWith("Parley is up at ")),
        "the start line on stderr",
      );
      const url = server.ts.url;
      assert.equal(
        banner,
        `Parley is up at ${url}; CA SHA-256 fingerprint ${fingerprint}; trust page ${url}/#/trust`,
      );
      assert.ok(server.stdoutLines.length > 0);
      for (const line of server.stdoutLines) {
        const entry = JSON.parse(line) as { level?: unknown; time?: unknown };
        assert.equal(typeof entry.level, "number", line);
        assert.equal(typeof entry.time, "number", line);
      }
      const all = [...server.stdoutLines, ...server.stderrLines];
      assert.ok(!all.some((l) => QR_ROW.test(l) || /[█▀▄]/.test(l)), "no QR code off a terminal");
    } finally {
      await server.stop();
    }
  });

  it("names no CA and no trust page when it has none (plain HTTP on loopback)", async () => {
    const server = await startChildServer(join(tmp, "http"), { PARLEY_TLS: "off" });
    try {
      const banner = await until(
        async () => server.stderrLines.find((l) => l.startsWith("Parley is up at ")),
        "the start line on stderr",
      );
      assert.equal(banner, `Parley is up at ${server.ts.url}`);
    } finally {
      await server.stop();
    }
  });
});

describe("on a terminal", () => {
  let term: TmuxSession | undefined;
  after(async () => {
    await term?.kill();
  });

  it("shows readable log lines, the fingerprint in whole-byte lines, the trust page and a QR code", async (t) => {
    if (!(await tmuxInstalled())) {
      if (process.env.PARLEY_REQUIRE_SERVICES === "1")
        assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
      t.skip("tmux is not installed");
      return;
    }
    const dataDir = join(tmp, "tty");
    term = new TmuxSession({ PARLEY_HOST: "127.0.0.1", PARLEY_PORT: "0", PARLEY_DATA_DIR: dataDir });
    await term.start(`node ${NODE_ARGS.join(" ")} packages/server/src/main.ts`, ROOT, 120, 90);
    const rows = await term.waitFor(
      (r) => r.some((l) => l.startsWith("Trust this server on a phone: ")) && r.some((l) => QR_ROW.test(l)),
      120_000,
      "the banner and its QR code",
    );
    const url = /^Parley is up\. Open (https:\/\/127\.0\.0\.1:\d+)$/.exec(
      rows.find((l) => l.startsWith("Parley is up.")) ?? "",
    )?.[1];
    assert.ok(url, rows.join("\n"));
    // pino-pretty: "[12:34:56] INFO: Parley is listening …", not a JSON object.
    assert.ok(
      rows.some((l) => /^\[\d{2}:\d{2}:\d{2}\] INFO: Parley is listening/.test(l)),
      rows.join("\n"),
    );
    assert.ok(!rows.some((l) => l.startsWith('{"level"')), "no JSON log line on a terminal");
    // The fingerprint: two lines of 16 whole bytes under its heading, equal to the CA's.
    const heading = rows.indexOf("CA fingerprint (SHA-256):");
    assert.ok(heading >= 0, rows.join("\n"));
    const fpRows = rows.slice(heading + 1, heading + 3);
    for (const r of fpRows) assert.match(r, /^ {2}([0-9A-F]{2}:){15}[0-9A-F]{2}$/);
    assert.equal(fpRows.map((r) => r.trim()).join(":"), await caFingerprint(dataDir));
    assert.equal(rows[heading + 3], `Trust this server on a phone: ${url}/#/trust`);
    assert.ok(rows.filter((l) => QR_ROW.test(l)).length >= 10, "a QR code of some rows");
  });
});
