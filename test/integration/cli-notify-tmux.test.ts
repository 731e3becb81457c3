import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { until } from "../e2e/support/wait.js";
import { CLI, NODE_ARGS, ROOT } from "./support/cli.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { nextEvent, type SdkUser, sdkSignUp } from "./support/sdk.js";
import { TmuxSession, haveTmux as tmuxInstalled } from "./support/tmux.js";

// Issue 18.5 on a real terminal (tmux): the bell rings for a mention in a room (mentions only
// by default) and for a direct message, not for a room's chatter nor in a muted room; /notify
// sets the level; /rooms shows unread counts (issue 13). Then following (issue 18.7): a followed
// person's public room is offered, and after /join the terminal reads what they post next.

let tmp: string;
let ts: TestServer;
let haveTmux = true;
let term: TmuxSession;
let ben: SdkUser | undefined;

const shows = (text: string) => (rows: string[]) => rows.some((r) => r.includes(text));

before(async () => {
  haveTmux = await tmuxInstalled();
  if (!haveTmux) return;
  tmp = await mkdtemp(join(tmpdir(), "parley-notify-tmux-"));
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  ts = await startTestServer({ bruteForceMaxFailures: 1_000, frameRate: 1000, frameBurst: 1000 });
});

after(async () => {
  await ben?.client.close();
  await term?.kill();
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("rings the bell on mentions and direct messages, by each conversation's level", async (t) => {
  if (!haveTmux) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  ben = await sdkSignUp(ts, "ben");
  const alice = uniqueName("alice");
  const command = [process.execPath, ...NODE_ARGS, CLI, "chat", ts.url].map((a) => `'${a}'`).join(" ");
  await term.start(command, ROOT);
  await term.countBells();
  await term.waitFor(shows("Trust this server and remember its CA? [y/N]"), 60_000, "the TOFU question");
  await term.type("y", true);
  await term.waitFor(shows("not signed in"), 30_000, "the greeting");
  await term.type(`/register ${alice}`, true);
  await term.waitFor(shows(`Password for ${alice}:`));
  await term.type(STRONG_PASSWORD, true);
  await term.waitFor(shows("The same password again:"));
  await term.type(STRONG_PASSWORD, true);
  await term.waitFor(shows(`signed in as ${alice}`), 30_000, "signed in");
  const aliceId = (await ben.client.users()).find((u) => u.username === alice)?.id ?? "";

  await term.type("/create ops", true);
  const rows = await term.waitFor(shows("private: only people you /invite"));
  const roomId = /created #ops \(id ([0-9A-Z]{6})/.exec(rows.join("\n"))?.[1] ?? "";
  const invited = nextEvent(ben.client, "invited", (i) => i.room.id === roomId);
  await term.type(`/invite ${ben.username}`, true);
  await invited;
  await ben.client.join(roomId);
  await term.waitFor(shows(`${ben.username} joined`));
  await term.type("/notify", true);
  await term.waitFor(shows("notifications in #ops: only mentions of you ring the bell"));

  // Mentions only (a room's default): chatter prints without a bell, a mention rings.
  await ben.client.send(roomId, "routine chatter");
  await term.waitFor(shows("routine chatter"));
  assert.equal(await term.bells(), 0);
  await ben.client.send(roomId, { text: `@${alice} please look`, mentions: [aliceId] });
  await term.waitFor(shows("please look"));
  await until(async () => (await term.bells()) === 1, "the mention's bell");

  // Muted: not even a mention rings. The direct message that follows does: one more bell.
  await term.type("/notify off", true);
  await term.waitFor(shows("notifications in #ops: muted, nothing rings the bell"));
  await ben.client.send(roomId, { text: `@${alice} muted mention`, mentions: [aliceId] });
  await term.waitFor(shows("muted mention"));
  assert.equal(await term.bells(), 1);
  const direct = await ben.client.openDirect(aliceId);
  await ben.client.send(direct.id, "direct ping");
  await term.waitFor(shows("direct ping"));
  await until(async () => (await term.bells()) === 2, "the direct message's bell");

  // The conversation list shows what is unread, and which conversation is muted.
  await ben.client.send(direct.id, "second ping");
  await term.waitFor(shows("second ping"));
  await term.type("/rooms", true);
  const list = await term.waitFor(/2 unread/, 20_000, "the unread count in /rooms");
  assert.ok(
    list.some((r) => r.includes(`${roomId}  private room, muted`)),
    `ops is listed as muted:\n${list.join("\n")}`,
  );
  assert.ok(
    list.some((r) => r.includes(ben?.username ?? "?") && r.includes("direct") && r.endsWith("2 unread")),
    `the direct conversation has 2 unread:\n${list.join("\n")}`,
  );
  await until(async () => (await term.bells()) === 3, "the second direct message's bell");
});

it("offers the public room a followed person posts in, and reads what follows after /join", async (t) => {
  if (!haveTmux || ben === undefined) {
    t.skip("needs the signed-in terminal of the test before");
    return;
  }
  await term.type(`/subscribe ${ben.username}`, true);
  await term.waitFor(shows(`following ${ben.username}`));
  const lobby = await ben.client.createRoom("ben-lobby", { isPublic: true });
  await ben.client.send(lobby.id, "said before alice came");
  await term.waitFor(shows(`/join ${lobby.id} to read what is said there from now on`));
  await term.type("/rooms", true);
  await term.waitFor(
    shows(`${ben.username} (followed) posted once in public room ${lobby.id}: /join ${lobby.id}`),
  );

  await term.type(`/join ${lobby.id}`, true);
  await term.waitFor(shows("#ben-lobby"), 20_000, "the joined room");
  await ben.client.send(lobby.id, "welcome, follower");
  const rows = await term.waitFor(shows("welcome, follower"));
  assert.ok(!rows.some((r) => r.includes("said before alice came")), rows.join("\n"));
});
