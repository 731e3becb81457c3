import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import type { ParleyClient } from "@parley/client";
import { CLI, NODE_ARGS, ROOT } from "./support/cli.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { linkBySdk, nextEvent, type SdkUser, sdkClient, sdkSignUp } from "./support/sdk.js";
import { haveTmux, TmuxSession } from "./support/tmux.js";

// IDENT-4 in the terminal client: bob in `parley chat` (tmux, 80x24), alice an SDK client. A
// second device of alice's is a quiet line; her identity reset is the warning, whether bob's
// terminal was running when the server pushed `identity.reset` or was started again after it.
// Each reset happens on a new device of alice's that is closed at once, before it could rejoin
// the room: only the server's hint (live, or asked for on connecting) tells bob of the new key.

let tmp: string;
let ts: TestServer;
let alice: SdkUser;
let tmuxHere = true;
let term: TmuxSession;
let command: string;
const open: ParleyClient[] = [];

const text = () => term.text();
const waitFor = (pattern: RegExp, ms = 30_000) => term.waitForMatch(pattern, ms);
const type = (line: string) => term.type(line, true);
const count = (haystack: string, pattern: RegExp) => (haystack.match(pattern) ?? []).length;
const warning = () =>
  new RegExp(`WARNING: ${alice.username}'s identity key changed since you verified it`, "g");

/** Alice signs in on a new device and resets her identity there, which then goes away at once. */
async function resetOnNewDevice(): Promise<void> {
  const device = sdkClient(ts);
  open.push(device);
  await device.login(alice.username, STRONG_PASSWORD);
  await device.resetIdentity(STRONG_PASSWORD);
  await device.close();
}

/** Bob runs /verify and says yes: he compared the safety numbers. */
async function verifyAlice(): Promise<void> {
  await type(`/verify ${alice.username}`);
  await waitFor(new RegExp(`Mark ${alice.username} as verified\\? \\[y/N\\]`));
  await type("y");
  await waitFor(new RegExp(`${alice.username} is verified`));
}

before(async () => {
  tmuxHere = await haveTmux();
  if (!tmuxHere) return;
  tmp = await mkdtemp(join(tmpdir(), "parley-reset-tmux-"));
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  ts = await startTestServer();
  alice = await sdkSignUp(ts, "alice");
  open.push(alice.client);
  command = [process.execPath, ...NODE_ARGS, CLI, "chat", ts.url].map((a) => `'${a}'`).join(" ");
});

after(async () => {
  await term?.kill();
  await Promise.all(open.map((c) => c.close()));
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("shows a contact's new device as a notice and their identity reset as a warning, live and after a restart", async (t) => {
  if (!tmuxHere) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  const bob = uniqueName("bob");
  await term.start(command, ROOT);
  await waitFor(/Trust this server and remember its CA\? \[y\/N\]/, 60_000);
  await type("y");
  await waitFor(/not signed in/);
  await type(`/register ${bob}`);
  await waitFor(new RegExp(`Password for ${bob}:`));
  await type(STRONG_PASSWORD);
  await waitFor(/The same password again:/);
  await type(STRONG_PASSWORD);
  await waitFor(new RegExp(`signed in as ${bob}`));

  // Bob and alice share a room; bob meets her key in the group and verifies her.
  await type("/create den");
  const [, roomId = ""] = await waitFor(/created #den \(id ([0-9A-Z]{6})/);
  const invited = nextEvent(alice.client, "invited", (i) => i.room.id === roomId);
  await type(`/invite ${alice.username}`);
  await invited;
  await alice.client.join(roomId);
  await waitFor(new RegExp(`${alice.username} joined`));
  await alice.client.send(roomId, "hello from alice's laptop");
  await waitFor(/hello from alice's laptop/);
  await verifyAlice();

  // An ordinary second device: news, not an alarm.
  const tablet = sdkClient(ts);
  open.push(tablet);
  await tablet.login(alice.username, STRONG_PASSWORD);
  await linkBySdk(alice.client, tablet);
  await waitFor(new RegExp(`${alice.username} added a device`));
  await tablet.send(roomId, "hello from alice's tablet");
  await waitFor(/hello from alice's tablet/);
  let screen = await text();
  assert.doesNotMatch(screen, /WARNING/, "a second device is not a warning");
  assert.doesNotMatch(screen, /identity key changed/);

  // Alice resets her identity while bob's terminal runs: the server's hint brings the warning.
  await resetOnNewDevice();
  await waitFor(warning());
  // The terminal folds the warning at 80 columns.
  await waitFor(new RegExp(`Compare\\s+safety\\s+numbers:\\s+/verify ${alice.username}`));
  screen = await text();
  assert.equal(count(screen, warning()), 1, `one warning for one reset:\n${screen}`);

  // Bob compares the new safety number and verifies her again, then quits. Alice resets once
  // more while his terminal is closed; started again, it catches up and warns.
  await term.press("C-l");
  await verifyAlice();
  await type("/quit");
  await term.waitGone();
  await resetOnNewDevice();
  await term.start(command, ROOT);
  await waitFor(new RegExp(`signed in as ${bob}`));
  await waitFor(warning());
  screen = await text();
  assert.equal(count(screen, warning()), 1, `one warning for the missed reset:\n${screen}`);
});
