import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { asUserId } from "../../packages/server/src/domain/ids.js";
import { parley } from "./support/cli.js";
import {
  login,
  registerUser,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";

// `parley admin reset-code` and `parley reset-password` as child processes against a real
// server (PROTOCOL.md AUTH-11): the admin's code, shown once, sets the person's new password.

const NEW_PASSWORD = "Fresh-Meadow-Lantern-4";

describe("reset codes from the terminal client", () => {
  let ts: TestServer;
  let configDir: string;
  let adminName: string;
  before(async () => {
    ts = await startTestServer({ authRatePerMin: 10_000 });
    configDir = await mkdtemp(join(tmpdir(), "parley-cli-recovery-"));
    adminName = uniqueName("boss");
    const admin = await registerUser(ts, adminName);
    await ts.server.storage.setUserAdmin(asUserId(admin.user.id), true);
  });
  after(async () => {
    await ts?.stop();
    await rm(configDir, { recursive: true, force: true });
  });

  const connection = () => ["--url", ts.url, "--config-dir", configDir];

  it("issues a code with parley admin and sets the new password with parley reset-password", async () => {
    const name = uniqueName("forgot");
    await registerUser(ts, name);
    const issued = await parley(["admin", "reset-code", name, "--user", adminName, ...connection()], {
      PARLEY_PASSWORD: STRONG_PASSWORD,
    });
    assert.equal(issued.code, 0, issued.stderr);
    const code = issued.stdout.trim();
    assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    assert.match(issued.stderr, /valid until/);

    const wrong = await parley(["reset-password", "--user", name, ...connection()], {
      PARLEY_RESET_CODE: "AAAA-BBBB-CCCC-DDDD",
      PARLEY_NEW_PASSWORD: NEW_PASSWORD,
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /code/i);

    const done = await parley(["reset-password", "--user", name, ...connection()], {
      PARLEY_RESET_CODE: code,
      PARLEY_NEW_PASSWORD: NEW_PASSWORD,
    });
    assert.equal(done.code, 0, done.stderr);
    assert.equal((await login(ts, name, NEW_PASSWORD)).status, 200);
    assert.equal((await login(ts, name)).status, 401);
  });

  it("refuses a missing --user and a code on the command line", async () => {
    const res = await parley(["reset-password", ...connection()]);
    assert.equal(res.code, 2);
    const positional = await parley(["reset-password", "AAAA-BBBB", "--user", "x", ...connection()]);
    assert.equal(positional.code, 2);
  });
});
