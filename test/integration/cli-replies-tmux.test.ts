import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import type { Content, MessageEvent } from "@parley/client";
import { CLI, NODE_ARGS, ROOT } from "./support/cli.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { nextEvent, type SdkUser, sdkSignUp } from "./support/sdk.js";
import { TmuxSession, haveTmux as tmuxInstalled } from "./support/tmux.js";

// Issue 20 in the terminal client (CHAT-1..6): `parley chat` in tmux at 80x24 numbers every
// message it prints; /reply, /react, /edit, /delete name one by its number, and what another
// member does to a message is said as a line. /search finds it in this device's history and
// /goto opens its conversation there. The other member is an SDK client in the test process,
// so the test sees the very content each command sends.

let tmp: string;
let ts: TestServer;
let sam: SdkUser;
let haveTmux = true;

let term: TmuxSession;

const screen = () => term.screen();
const waitScreen = (text: string | RegExp, what: string, ms?: number) => term.waitFor(text, ms, what);
const type = (text: string) => term.type(text, true);

/** The next message sam's client decrypts in `roomId` whose content `match` accepts. */
function samGets(roomId: string, match: (c: Content) => boolean): Promise<MessageEvent> {
  return nextEvent(sam.client, "message", (m) => m.roomId === roomId && match(m.content));
}

before(async () => {
  haveTmux = await tmuxInstalled();
  if (!haveTmux) return;
  tmp = await mkdtemp(join(tmpdir(), "parley-replies-tmux-"));
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  ts = await startTestServer();
  sam = await sdkSignUp(ts, "sam");
});

after(async () => {
  await sam?.client.close();
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("replies, reacts, edits, deletes and searches by message number in an 80x24 terminal", async (t) => {
  if (!haveTmux) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  const alice = uniqueName("alice");
  const command = [process.execPath, ...NODE_ARGS, CLI, "chat", ts.url].map((a) => `'${a}'`).join(" ");
  await term.start(command, ROOT);
  try {
    await waitScreen("Trust this server and remember its CA? [y/N]", "the TOFU question", 60_000);
    await type("y");
    await waitScreen("not signed in", "the greeting", 30_000);
    await type(`/register ${alice}`);
    await waitScreen(`Password for ${alice}:`, "the password question");
    await type(STRONG_PASSWORD);
    await waitScreen("The same password again:", "the second password question");
    await type(STRONG_PASSWORD);
    await waitScreen(`signed in as ${alice}`, "signed in", 30_000);
    await type("/create den");
    const rows = await waitScreen("created #den (id ", "the room");
    const roomId = /created #den \(id ([0-9A-Z]{6})/.exec(rows.join("\n"))?.[1] ?? "";
    const invited = nextEvent(sam.client, "invited", (i) => i.room.id === roomId);
    await type(`/invite ${sam.username}`);
    await invited;
    await sam.client.join(roomId);
    await waitScreen(`${sam.username} joined`, "sam joining");

    // Every message printed has a number after it.
    const lunch = await sam.client.send(roomId, "lunch at noon?");
    await waitScreen(`<${sam.username}?> lunch at noon? #1`, "sam's message, numbered");

    // CHAT-1: a reply names the message it answers, and shows a quote of it.
    const reply = samGets(roomId, (c) => "text" in c && c.reply !== undefined);
    await type("/reply 1 yes please");
    const replied = await reply;
    assert.deepEqual(replied.content, {
      text: "yes please",
      reply: { id: lunch.messageId, from: sam.id },
    });
    await waitScreen(
      `<${alice}> [re ${sam.username}: lunch at noon?] yes please #2 [`,
      "the reply with its quote",
    );

    // CHAT-2: a reaction, then the same again takes it back.
    const reacted = samGets(roomId, (c) => "reaction" in c);
    await type("/react 1 👍");
    assert.deepEqual((await reacted).content, {
      reaction: { to: { id: lunch.messageId, from: sam.id }, emoji: "👍", on: true },
    });
    await waitScreen(`you reacted 👍 to #1 (👍 1: ${alice})`, "alice's reaction");
    const undone = samGets(roomId, (c) => "reaction" in c);
    await type("/react 1 👍");
    const off = (await undone).content;
    assert.ok("reaction" in off && !off.reaction.on, "taken back");
    await waitScreen("you took back 👍 on #1", "the reaction taken back");
    // Sam's reaction to alice's reply is said as a line.
    await sam.client.send(roomId, {
      reaction: { to: { id: replied.messageId ?? "", from: replied.from.userId }, emoji: "🎉", on: true },
    });
    await waitScreen(`${sam.username} reacted 🎉 to #2 (🎉 1: ${sam.username})`, "sam's reaction");

    // CHAT-3: alice edits her own message; not sam's.
    const edited = samGets(roomId, (c) => "edit" in c);
    await type("/edit 2 yes, noon works");
    assert.deepEqual((await edited).content, {
      edit: { to: { id: replied.messageId, from: replied.from.userId }, text: "yes, noon works" },
    });
    await waitScreen("you edited #2: yes, noon works", "the edit");
    await type("/edit 1 not yours");
    await waitScreen("(not_editable)", "an edit of sam's message, refused");
    await type("/edit 99 nothing there");
    await waitScreen("no message #99 on screen in this session", "an unknown number");

    // CHAT-4: sam deletes his message for everyone; alice deletes hers.
    const doomed = await sam.client.send(roomId, "delete me soon");
    await waitScreen(`<${sam.username}?> delete me soon #3`, "the message sam will delete");
    await sam.client.send(roomId, { delete: { to: { id: doomed.messageId, from: sam.id } } });
    await waitScreen(`${sam.username} deleted #3 for everyone`, "sam's delete");
    const deleted = samGets(roomId, (c) => "delete" in c);
    await type("/delete 2");
    assert.deepEqual((await deleted).content, {
      delete: { to: { id: replied.messageId, from: replied.from.userId } },
    });
    await waitScreen("you deleted #2 for everyone", "alice's delete");
    await type("/react 2 👍");
    await waitScreen("#2 was deleted", "a reaction to a deleted message, refused");

    // CHAT-6: search finds sam's first message (by any case), not the deleted ones.
    await type("/switch den");
    await waitScreen(`<${alice}> (message deleted) #2`, "kept as deleted");
    await type("/search NOON");
    await waitScreen('1 found on this device for "NOON"', "the search summary");
    await waitScreen(
      new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d #den <${sam.username}\\?> lunch at noon\\? #1`),
      "the hit",
    );
    await type("/search delete me");
    await waitScreen('no message on this device has "delete me"', "a deleted message is not found");
    await type("/goto 1");
    await waitScreen("now talking in #den, at #1:", "the conversation opened at the hit");

    for (const row of await screen()) assert.ok([...row].length <= 80, `row fits 80 columns: ${row}`);
  } finally {
    await term?.kill();
  }
});
