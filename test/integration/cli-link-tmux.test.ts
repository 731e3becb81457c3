import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { CLI, NODE_ARGS, ROOT } from "./support/cli.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { haveTmux, TmuxSession } from "./support/tmux.js";

// Issue 14 in the terminal client: two `parley chat` terminals of one person, each with its own
// home (its own device store), in tmux on their own socket. The new terminal shows a code, the
// first one enters it with /link, both show the same six digits and each asks yes/no at its own
// prompt; afterwards /devices lists both, on either terminal.

let tmp: string;
let ts: TestServer;
let tmuxHere = true;
/** The terminals by name, each a tmux server with its own home directory: a device of its own. */
const terminals = new Map<string, TmuxSession>();

function term(session: string): TmuxSession {
  const t = terminals.get(session);
  assert.ok(t !== undefined, `no terminal ${session}`);
  return t;
}
const screen = (session: string) => term(session).text();
const waitFor = (session: string, match: RegExp, ms = 30_000) => term(session).waitForMatch(match, ms);
const type = (session: string, text: string) => term(session).type(text, true);

/** A `parley chat` terminal with its own home directory: a device of its own. */
async function terminal(session: string): Promise<void> {
  const home = join(tmp, session);
  await mkdir(home, { recursive: true });
  const t = new TmuxSession({ HOME: home, XDG_CONFIG_HOME: join(home, ".config") });
  terminals.set(session, t);
  const command = [process.execPath, ...NODE_ARGS, CLI, "chat", ts.url].map((a) => `'${a}'`).join(" ");
  await t.start(command, ROOT);
  await waitFor(session, /Trust this server and remember its CA\? \[y\/N\]/, 60_000);
  await type(session, "y");
  await waitFor(session, /not signed in/);
}

before(async () => {
  tmuxHere = await haveTmux();
  if (!tmuxHere) return;
  tmp = await mkdtemp(join(tmpdir(), "parley-link-tmux-"));
  ts = await startTestServer();
});

after(async () => {
  for (const t of terminals.values()) await t.kill();
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("links a second terminal by its code, with the same six digits and a yes on each side, and /devices lists both", async (t) => {
  if (!tmuxHere) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  const sam = uniqueName("sam");
  await terminal("first");
  await type("first", `/register ${sam}`);
  await waitFor("first", new RegExp(`Password for ${sam}:`));
  await type("first", STRONG_PASSWORD);
  await waitFor("first", /The same password again:/);
  await type("first", STRONG_PASSWORD);
  await waitFor("first", new RegExp(`signed in as ${sam}`));

  // The second terminal signs in: it has no identity, so it asks to link or to reset.
  await terminal("second");
  await type("second", `/login ${sam}`);
  await waitFor("second", new RegExp(`Password for ${sam}:`));
  await type("second", STRONG_PASSWORD);
  await waitFor("second", /\[l\]ink this terminal from it, or\s+\[r\]eset your identity/);
  await type("second", "l");
  const [, code = ""] = await waitFor("second", /enter: \/link ([0-9A-Z]{5}-[0-9A-Z]{5})/);

  // The first terminal enters the code (typed in lower case, as people do).
  await type("first", `/link ${code.toLowerCase()}`);
  const [, sasFirst] = await waitFor("first", /Does the new device show (\d{6})\? \[y\/N\]/);
  const [, sasSecond] = await waitFor("second", /Does the other device show (\d{6})\? \[y\/N\]/);
  assert.equal(sasFirst, sasSecond, "both terminals show the same six digits");
  await type("first", "y");
  await waitFor("first", /identity sent to the new device/);
  await type("second", "y");
  await waitFor("second", /this terminal is linked to your identity/);
  await waitFor("second", new RegExp(`signed in as ${sam}`));

  for (const session of ["first", "second"]) {
    await type(session, "/devices");
    const [listing = ""] = await waitFor(session, /your devices \(2\):\n(.*\n){2}/);
    assert.equal((listing.match(/^ {2}\d\. added \d{4}-\d\d-\d\d \d\d:\d\d/gm) ?? []).length, 2, listing);
    assert.equal(
      (listing.match(/\(this device\)/g) ?? []).length,
      1,
      `${session}: one is this device\n${listing}`,
    );
  }
  // The first terminal hears of the new device as news, not as a warning.
  assert.doesNotMatch(await screen("first"), /WARNING/);
});

it("removes the second terminal with /devices remove after a yes: it is told and erased, the first one lists one", async (t) => {
  if (!tmuxHere) {
    t.skip("tmux is not installed");
    return;
  }
  await term("first").press("C-l");
  await type("first", "/devices");
  const [listing = ""] = await waitFor("first", /your devices \(2\):\n(.*\n){2}/);
  const other = /^ {2}(\d)\. added [^\n]*$/m.exec(
    listing
      .split("\n")
      .filter((l) => !l.includes("(this device)"))
      .join("\n"),
  )?.[1];
  assert.ok(other !== undefined, listing);

  // Asked first; "no" keeps it.
  await type("first", `/devices remove ${other}`);
  await waitFor("first", new RegExp(`Remove device ${other}\\? \\[y/N\\]`));
  await type("first", "n");
  await waitFor("first", /device kept/);
  await type("first", `/devices remove ${other}`);
  await waitFor("first", /device kept[\s\S]*cannot be undone[\s\S]*Remove device \d\? \[y\/N\]/);
  await type("first", "y");
  await waitFor("first", new RegExp(`device ${other} removed`));
  await waitFor("first", /you removed a device/);

  // The removed terminal says so; its keys are gone.
  await waitFor("second", /This device was removed from your account/);
  await type("first", "/devices");
  await waitFor("first", /your devices \(1\):\n {2}1\. added [^\n]*\(this device\)/);
  assert.doesNotMatch(await screen("first"), /WARNING/);
});
