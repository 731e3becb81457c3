import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { CLI, NODE_ARGS, parley, ROOT } from "./support/cli.js";
import { login, STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { TmuxSession, haveTmux as tmuxInstalled } from "./support/tmux.js";

// AUTH-12 in `parley chat` on a real terminal (tmux): /recovery-codes asks for the password and
// shows ten codes once; one of them then sets a new password with `parley reset-password`,
// once and not twice.

const NEW_PASSWORD = "Fresh-Meadow-Lantern-4";
const CODE = /^\s+\d+\. ([0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3})$/;

let tmp: string;
let ts: TestServer;
let haveTmux = true;
let term: TmuxSession;

before(async () => {
  haveTmux = await tmuxInstalled();
  if (!haveTmux) return;
  tmp = await mkdtemp(join(tmpdir(), "parley-recovery-tmux-"));
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  ts = await startTestServer({ authRatePerMin: 10_000 });
});

after(async () => {
  await term?.kill();
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("makes recovery codes with the password; one resets the password once, not twice", async (t) => {
  if (!haveTmux) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  const name = uniqueName("keeper");
  const command = [process.execPath, ...NODE_ARGS, CLI, "chat", ts.url].map((a) => `'${a}'`).join(" ");
  await term.start(command, ROOT, 80, 30);
  await term.waitFor("Trust this server and remember its CA? [y/N]", 60_000, "the TOFU question");
  await term.type("y", true);
  await term.waitFor("not signed in", 30_000, "the greeting");
  await term.type(`/register ${name}`, true);
  await term.waitFor(`Password for ${name}:`);
  await term.type(STRONG_PASSWORD, true);
  await term.waitFor("The same password again:");
  await term.type(STRONG_PASSWORD, true);
  await term.waitFor(`signed in as ${name}`, 30_000, "signed in");

  await term.type("/recovery-codes", true);
  await term.waitFor("Password:", undefined, "the password question");
  await term.type("Not-The-Password-1!", true);
  await term.waitFor(/[Ww]rong username or password|invalid_credentials/, undefined, "the refusal");

  await term.type("/recovery-codes", true);
  await term.waitFor(
    (rows) => rows.filter((r) => r.includes("Password:")).length >= 2,
    undefined,
    "asked again",
  );
  await term.type(STRONG_PASSWORD, true);
  const rows = await term.waitFor(
    (r) => r.filter((line) => CODE.test(line)).length === 10,
    undefined,
    "ten recovery codes",
  );
  const codes = rows.flatMap((r) => CODE.exec(r)?.[1] ?? []);
  assert.equal(new Set(codes).size, 10, "ten different codes");
  await term.type("/quit", true);

  const configDir = join(tmp, ".config", "parley");
  const reset = (password: string) =>
    parley(["reset-password", "--user", name, "--url", ts.url, "--config-dir", configDir], {
      PARLEY_RESET_CODE: codes[3] ?? "",
      PARLEY_NEW_PASSWORD: password,
    });
  const first = await reset(NEW_PASSWORD);
  assert.equal(first.code, 0, first.stderr);
  assert.equal((await login(ts, name, NEW_PASSWORD)).status, 200);
  const second = await reset("Second-Meadow-Lantern-5");
  assert.equal(second.code, 1, "a used recovery code works once");
  assert.equal((await login(ts, name, NEW_PASSWORD)).status, 200, "the password stayed");
});
