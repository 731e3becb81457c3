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

// Issue 18 parts 3, 4 and 6 in `parley chat` on a real terminal (tmux): bans with /ban, /bans
// and /unban; blocking invitations with /block, /blocks and /unblock; the session list and
// ending one with /sessions; and /delete-account, after which the name opens nothing.

let tmp: string;
let ts: TestServer;
let haveTmux = true;
let term: TmuxSession;

const waitScreen = (check: (rows: string[]) => boolean, what: string, ms?: number) =>
  term.waitFor(check, ms, what);
const shows = (text: string) => (rows: string[]) => rows.some((r) => r.includes(text));
const type = (text: string, enter = false) => term.type(text, enter);
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

const users: SdkUser[] = [];
async function sdkUser(prefix: string): Promise<SdkUser> {
  const u = await sdkSignUp(ts, prefix);
  users.push(u);
  return u;
}

before(async () => {
  haveTmux = await tmuxInstalled();
  if (!haveTmux) return;
  tmp = await mkdtemp(join(tmpdir(), "parley-account-tmux-"));
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  ts = await startTestServer({ bruteForceMaxFailures: 1_000, frameRate: 1000, frameBurst: 1000 });
});

after(async () => {
  for (const u of users) await u.client.close();
  await term?.kill();
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("bans, blocks, lists and ends sessions, and deletes the account from the terminal", async (t) => {
  if (!haveTmux) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  const sam = await sdkUser("sam");
  const dan = await sdkUser("dan");
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

  // A ban removes dan and keeps him out until /unban.
  await type("/create ops --public", true);
  const rows = await waitScreen(shows("created #ops"), "the room");
  const roomId = /created #ops \(id ([0-9A-Z]{6})/.exec(rows.join("\n"))?.[1] ?? "";
  await sam.client.join(roomId);
  await dan.client.join(roomId);
  await waitScreen(shows(`${dan.username} joined`), "dan's join line");
  const danBanned = nextEvent(dan.client, "membership", (m) => m.source === "room" && m.event === "banned");
  await type(`/ban ${dan.username}`, true);
  await waitScreen(shows(`${dan.username} was banned by ${alice}`), "the ban line");
  await danBanned;
  await assert.rejects(dan.client.join(roomId), code("banned_from_room"));
  await type("/bans", true);
  await waitScreen(shows(`  ${dan.username} by ${alice}`), "the ban list");
  await type(`/unban ${dan.username}`, true);
  await waitScreen(shows(`${alice} lifted ${dan.username}'s ban`), "the unban line");
  await dan.client.join(roomId);

  // A block refuses sam's invitations; alice is not told of the attempt.
  await type(`/block ${sam.username}`, true);
  await waitScreen(shows(`blocked ${sam.username}`), "the block notice");
  await type("/blocks", true);
  await waitScreen(shows(`  ${sam.username}, since`), "the block list");
  const samRoom = await sam.client.createRoom("sam's", { isPublic: false });
  const me = (await sam.client.users()).find((u) => u.username === alice);
  assert.ok(me);
  await assert.rejects(sam.client.invite(samRoom.id, me.id), code("invite_refused"));
  await type(`/unblock ${sam.username}`, true);
  await waitScreen(shows(`unblocked ${sam.username}`), "the unblock notice");
  await sam.client.invite(samRoom.id, me.id);
  await waitScreen(shows(`${sam.username} invited you to #sam's`), "the invitation gets through");

  // Sessions: the terminal's and a second one; ending the second stops its tokens.
  const other = await request<SessionResponse>(ts, "POST", "/api/login", {
    body: { username: alice, password: STRONG_PASSWORD },
    headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0" },
  });
  assert.equal(other.status, 200);
  await type("/sessions", true);
  await waitScreen(shows("your sessions (2):"), "the session list");
  await waitScreen(shows("1. Firefox on Linux from 127.0.0.1"), "the newest session first");
  await waitScreen(shows("(this session)"), "this session marked");
  await type("/sessions end 2", true);
  await waitScreen(shows("that is this session"), "the terminal's own session is refused");
  await type("/sessions end 1", true);
  await waitScreen(shows("session 1 ended"), "the end notice");
  assert.equal((await request(ts, "GET", "/api/me", { token: other.body.accessToken })).status, 401);

  // Deleting the account: the name must be typed, then the password; sam sees the line.
  const samSees = nextEvent(
    sam.client,
    "membership",
    (m) => m.source === "room" && m.event === "account_deleted" && m.roomId === roomId,
  );
  await type("/delete-account", true);
  await waitScreen(shows(`Type your username (${alice})`), "the confirmation");
  await type("nope", true);
  await waitScreen(shows("account kept"), "kept on a wrong name");
  await type("/delete-account", true);
  await waitScreen(shows(`Type your username (${alice})`), "the confirmation again");
  await type(alice, true);
  await waitScreen(shows("password (to delete your account):"), "the password question");
  await type(STRONG_PASSWORD, true);
  await waitScreen(shows(`account ${alice} deleted`), "the deletion notice", 30_000);
  await samSees;
  assert.equal((await login(ts, alice)).status, 401);
  const again = await request(ts, "POST", "/api/register", {
    body: { username: alice, password: STRONG_PASSWORD },
  });
  assert.equal(again.status, 409, "the name is retired");
  await type("/quit", true);
});
