import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import type { SessionResponse } from "@parley/protocol";
import { CLI, NODE_ARGS, ROOT } from "./support/cli.js";
import {
  login,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { nextEvent, type SdkUser, sdkSignUp } from "./support/sdk.js";
import { TmuxSession, haveTmux as tmuxInstalled } from "./support/tmux.js";

// Rooms a team manages itself (issue 18) in `parley chat` on a real terminal (tmux, as in
// cli-chat-tmux.test.ts): a private room by default, invitations, moderators, settings, the
// directory and joining by name, the member cap, the passphrase, a kick that takes the member
// out of the MLS group, a declined invitation, and a password change; each membership change
// shows as a line.

let tmp: string;
let ts: TestServer;
let haveTmux = true;

let term: TmuxSession;

const waitScreen = (check: (rows: string[]) => boolean, what: string, ms?: number) =>
  term.waitFor(check, ms, what);
const shows = (text: string) => (rows: string[]) => rows.some((r) => r.includes(text));
const type = (text: string, enter = false) => term.type(text, enter);

before(async () => {
  haveTmux = await tmuxInstalled();
  if (!haveTmux) return;
  tmp = await mkdtemp(join(tmpdir(), "parley-rooms-tmux-"));
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  ts = await startTestServer({ bruteForceMaxFailures: 1_000, frameRate: 1000, frameBurst: 1000 });
});

after(async () => {
  for (const u of users) await u.client.close();
  await term?.kill();
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const users: SdkUser[] = [];
async function sdkUser(prefix: string): Promise<SdkUser> {
  const u = await sdkSignUp(ts, prefix);
  users.push(u);
  return u;
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

it("manages a room from the terminal: privacy, invitations, roles, settings, directory, cap, passphrase, kick", async (t) => {
  if (!haveTmux) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  const sam = await sdkUser("sam");
  const dan = await sdkUser("dan");
  const erin = await sdkUser("erin");
  const alice = uniqueName("alice");
  const command = [process.execPath, ...NODE_ARGS, CLI, "chat", ts.url].map((a) => `'${a}'`).join(" ");
  await term.start(command, ROOT);
  await waitScreen(shows("Trust this server and remember its CA? [y/N]"), "the TOFU question", 60_000);
  await type("y", true);
  await waitScreen(shows("not signed in"), "the greeting", 30_000);
  await type(`/register ${alice}`, true);
  await waitScreen(shows(`Password for ${alice}:`), "the password question");
  await type(STRONG_PASSWORD, true);
  await waitScreen(shows("The same password again:"), "the second password question");
  await type(STRONG_PASSWORD, true);
  await waitScreen(shows(`signed in as ${alice}`), "signed in", 30_000);

  // Private by default: the id alone lets nobody in.
  await type("/create ops --cap 3", true);
  let rows = await waitScreen(shows("private: only people you /invite"), "the private room");
  const roomId = /created #ops \(id ([0-9A-Z]{6})/.exec(rows.join("\n"))?.[1] ?? "";
  assert.match(roomId, /^[0-9A-Z]{6}$/);
  await assert.rejects(dan.client.join(roomId), code("not_invited"));

  // The inviter sees the invitation at once, and again when it is accepted.
  const invited = nextEvent(sam.client, "invited", (i) => i.room.id === roomId);
  await type(`/invite ${sam.username}`, true);
  await invited;
  await waitScreen(shows(`${alice} invited ${sam.username}`), "the invitation line");
  await sam.client.join(roomId);
  await waitScreen(shows(`${sam.username} joined`), "the join line");

  await type(`/mod ${sam.username}`, true);
  await waitScreen(shows(`${alice} made ${sam.username} a moderator`), "the role line");
  await type("/rename night ops", true);
  await waitScreen(shows(`${alice} renamed the room to night ops`), "the rename line");
  await type("/privacy public", true);
  await waitScreen(shows(`${alice} made the room public`), "the privacy line");
  await type("/passphrase on", true);
  await waitScreen(shows("New passphrase to join the room (not shown):"), "the passphrase question");
  await type("open the door", true);
  rows = await waitScreen(shows(`${alice} set a join passphrase`), "the passphrase line");
  assert.ok(!rows.some((r) => r.includes("open the door")), "the passphrase is not on the screen");
  await type("/settings", true);
  await waitScreen(shows("your role:  owner"), "the settings");

  // Dan finds it by name, needs the passphrase, gets in; the cap of 3 then refuses Erin.
  const found = await dan.client.findPublicRoom("Night Ops");
  assert.equal(found?.id, roomId);
  assert.equal(found?.memberCount, 2);
  await assert.rejects(dan.client.join(roomId), code("passphrase_required"));
  await assert.rejects(dan.client.join(roomId, "open the window"), code("wrong_passphrase"));
  await dan.client.join(roomId, "open the door");
  await waitScreen(shows(`${dan.username} joined`), "dan's join line");
  await assert.rejects(erin.client.join(roomId, "open the door"), code("room_full"));
  await type("/directory night", true);
  await waitScreen(
    (r) => r.some((row) => row.includes("#night ops") && /3\/3 members +\(joined, passphrase\)/.test(row)),
    "the directory entry",
  );

  // A kick takes Dan out of the group: what is said after reaches Sam, not Dan.
  const danGot: string[] = [];
  dan.client.on("message", (m) => {
    if (m.text !== undefined) danGot.push(m.text);
  });
  const danRemoved = nextEvent(dan.client, "membership", (m) => m.source === "room" && m.event === "removed");
  const groupShrank = nextEvent(
    sam.client,
    "membership",
    (m) => m.source === "group" && m.removed.some((d) => d.userId === dan.id),
  );
  await type(`/kick ${dan.username}`, true);
  await waitScreen(shows(`${dan.username} was removed by ${alice}`), "the removal line");
  await danRemoved;
  await groupShrank;
  const samGot = nextEvent(sam.client, "message", (m) => m.text === "after the kick");
  await type("after the kick", true);
  await samGot;
  assert.equal(await dan.client.epoch(roomId), undefined, "Dan's device holds no group state");
  assert.ok(!danGot.includes("after the kick"), "Dan read nothing said after the kick");

  // A public room joined by its name.
  await sam.client.createRoom("garden", { isPublic: true });
  await type("/join garden", true);
  await waitScreen(shows("joined #garden ("), "joined by name");

  // An invitation to decline: the inviter hears it.
  const plans = await sam.client.createRoom("plans");
  const me = (await sam.client.users()).find((u) => u.username === alice);
  const declined = nextEvent(sam.client, "membership", (m) => m.source === "room" && m.event === "declined");
  await sam.client.invite(plans.id, me?.id ?? "");
  await waitScreen(shows("/accept"), "the invitation notice");
  await type("/invites", true);
  await waitScreen(shows(`from ${sam.username}`), "the invitation list");
  await type("/decline plans", true);
  await waitScreen(shows(`declined ${sam.username}'s invitation to #plans`), "the decline");
  const decline = await declined;
  assert.equal(decline.source === "room" && decline.userId, me?.id);

  // A password change ends the account's other sessions.
  const other = await login(ts, alice);
  assert.equal(other.status, 200);
  await type("/password", true);
  await waitScreen(shows("Current password:"), "the current password question");
  await type(STRONG_PASSWORD, true);
  await waitScreen(shows("New password:"), "the new password question");
  await type("Lamp-Harbour-Quiet-9", true);
  await waitScreen(shows("The same new password again:"), "the repeat question");
  await type("Lamp-Harbour-Quiet-9", true);
  await waitScreen(shows("password changed; your other sessions have ended"), "the change");
  const refreshed = await request<SessionResponse>(ts, "POST", "/api/token/refresh", {
    body: { refreshToken: other.body.refreshToken },
  });
  assert.equal(refreshed.status, 401);
  assert.equal((await login(ts, alice, "Lamp-Harbour-Quiet-9")).status, 200);
});
