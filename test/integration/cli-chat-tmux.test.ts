import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { fingerprintRows } from "../../packages/cli/src/fingerprint-rows.js";
import { CLI, NODE_ARGS, ROOT } from "./support/cli.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { nextEvent, type SdkUser, sdkSignUp } from "./support/sdk.js";
import { haveTmux, TmuxSession } from "./support/tmux.js";

// `parley chat` on a real terminal: tmux (from Debian; scripts/ensure-services.sh installs it)
// runs it in a detached 80x24 session on its own socket, the test types with send-keys and
// reads the screen with capture-pane. It proves that a message arriving while a line is half
// typed is shown above the input line and leaves the typed text on the prompt.

let tmp: string;
let ts: TestServer;
let sam: SdkUser;
let tmuxHere = true;
let term: TmuxSession;

const screen = () => term.screen();
const waitScreen = (check: (rows: string[]) => boolean, what: string, ms = 20_000) =>
  term.waitFor(check, ms, what);
const shows = (text: string) => (rows: string[]) => rows.some((r) => r.includes(text));
const cursorRow = () => term.cursorRow();
const waitCursorRow = (expected: string, what: string) => term.waitCursorRow(expected, what);
const type = (text: string, enter = false) => term.type(text, enter);

/** Every file below `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

before(async () => {
  tmuxHere = await haveTmux();
  if (!tmuxHere) return;
  tmp = await mkdtemp(join(tmpdir(), "parley-chat-tmux-"));
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  ts = await startTestServer();
  sam = await sdkSignUp(ts, "sam");
});

after(async () => {
  await sam?.client.close();
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("keeps the half-typed input line intact while a message arrives, in an 80x24 terminal", async (t) => {
  if (!tmuxHere) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  const alice = uniqueName("alice");
  const command = [process.execPath, ...NODE_ARGS, CLI, "chat", ts.url].map((a) => `'${a}'`).join(" ");
  await term.start(command, ROOT);
  try {
    // On a terminal, a server seen for the first time is pinned only when the person says so.
    let rows = await waitScreen(
      shows("Trust this server and remember its CA? [y/N]"),
      "the TOFU question",
      60_000,
    );
    // The fingerprint in rows of whole bytes: 80 columns never fold it in the middle of one.
    for (const row of fingerprintRows("  SHA-256 ", ts.server.caFingerprint ?? "?")) {
      assert.ok(rows.includes(row), `the fingerprint row "${row}" is shown whole:\n${rows.join("\n")}`);
    }
    // The question is its own prompt: the answer is typed after it, not at a chat prompt.
    await waitCursorRow("Trust this server and remember its CA? [y/N]", "the TOFU question as the prompt");
    assert.ok(
      !rows.some((r) => r.startsWith(">")),
      `no chat prompt while the question waits:\n${rows.join("\n")}`,
    );
    await type("y", true);
    rows = await waitScreen(shows("not signed in"), "the greeting", 30_000);
    assert.ok(rows.includes("Trust this server and remember its CA? [y/N] y"), rows.join("\n"));
    assert.ok(!rows.includes("> y"), "the answer was not typed at the chat prompt");

    // The password is asked without echo.
    await type(`/register ${alice}`, true);
    await waitScreen(shows(`Password for ${alice}:`), "the password question");
    await type(STRONG_PASSWORD, true);
    await waitScreen(shows("The same password again:"), "the second password question");
    await type(STRONG_PASSWORD, true);
    rows = await waitScreen(shows(`signed in as ${alice}`), "signed in", 30_000);
    assert.ok(!rows.some((r) => r.includes(STRONG_PASSWORD)), "the password is not on the screen");
    // Nor in the input history: arrow-up brings back the command, not the password.
    await term.press("Up");
    await waitCursorRow(`> /register ${alice}`, "the command back from the history");
    assert.ok(!(await screen()).some((r) => r.includes(STRONG_PASSWORD)), "no password from the history");
    await term.press("C-u");
    await waitCursorRow(">", "the input cleared");

    await type("/create den", true);
    rows = await waitScreen(shows("created #den (id "), "the room");
    const roomId = /created #den \(id ([0-9A-Z]{6})/.exec(rows.join("\n"))?.[1] ?? "";
    assert.match(roomId, /^[0-9A-Z]{6}$/);
    const invited = nextEvent(sam.client, "invited", (i) => i.room.id === roomId);
    await type(`/invite ${sam.username}`, true);
    await invited;
    await sam.client.join(roomId);
    await waitScreen(shows(`${sam.username} joined`), "sam joining");

    // Half a line typed, no Enter; then a message arrives.
    await type("partial words");
    await waitScreen((r) => r.some((row) => row === "#den> partial words"), "the partial input");
    await sam.client.send(roomId, "incoming while you type");
    rows = await waitScreen(shows("incoming while you type"), "the incoming message");
    const messageAt = rows.findIndex((r) => r.includes(`<${sam.username}?> incoming while you type`));
    const promptAt = rows.indexOf("#den> partial words");
    assert.ok(messageAt >= 0, `the message is shown with sender and mark:\n${rows.join("\n")}`);
    assert.ok(promptAt > messageAt, `the input line is below the message, intact:\n${rows.join("\n")}`);
    assert.equal(await cursorRow(), "#den> partial words", "the cursor is still on the input line");
    assert.equal(rows.filter((r) => r.includes("partial words")).length, 1, "the input is drawn once");

    // Finishing the line sends exactly what was typed, both halves.
    const received = nextEvent(sam.client, "message", (m) => m.roomId === roomId);
    await type(" and the rest", true);
    const m = await received;
    assert.equal(m.text, "partial words and the rest");
    assert.equal(m.from.username, alice);
    await waitScreen(shows(`<${alice}> partial words and the rest`), "the sent line");

    // A line longer than the terminal is wrapped, not cut.
    const long = Array.from({ length: 30 }, (_, i) => `w${i}`)
      .join(" ")
      .repeat(2);
    await sam.client.send(roomId, long);
    rows = await waitScreen(shows("w29w0"), "the long message");
    for (const row of rows) assert.ok([...row].length <= 80, `row fits 80 columns: ${row}`);

    // Typing, both ways. Sam's shows on the prompt until he says he stopped.
    sam.client.typing(roomId, true);
    await waitCursorRow(`#den (${sam.username} typing)>`, "sam typing, on the prompt");
    sam.client.typing(roomId, false);
    await waitCursorRow("#den>", "sam stopped");
    // Alice's reaches sam as she types a message, and stops when she clears the line; a
    // command is not typing.
    const typing = nextEvent(sam.client, "typing", (e) => e.roomId === roomId && e.username === alice);
    await type("hel");
    assert.equal((await typing).active, true);
    const stopped = nextEvent(sam.client, "typing", (e) => e.roomId === roomId && !e.active);
    await term.press("C-u");
    await stopped;
    // What sam hears from here until a message: a command says nothing, the message's own
    // typing says "typing" once (repeats come every 3 s) and "stopped" when it is sent.
    const heard: string[] = [];
    const offTyping = sam.client.on("typing", (e) => {
      if (e.roomId === roomId) heard.push(e.active ? "typing" : "stopped");
    });
    const done = nextEvent(sam.client, "message", (m) => m.roomId === roomId && m.text === "done");
    await type("/who", true);
    await waitScreen(shows("online ("), "the /who answer");
    await type("done", true);
    await done;
    offTyping();
    assert.deepEqual(heard, ["typing", "stopped"]);

    // RCPT-2: own messages are numbered with their state; sam's one device acknowledges them.
    // Every message printed has a number (for /reply and the like): sam's two and alice's
    // first came before.
    await waitScreen(shows(`<${alice}> done #4 [`), "the sent line with its number and mark");
    await waitScreen(shows("-- #4 [delivered]"), "the delivered notice");
    await type("/info 4", true);
    rows = await waitScreen(shows("delivered to 1 of 1 devices"), "/info on a delivered message");
    assert.ok(
      rows.some((r) => r.includes(`${sam.username} (device `) && r.endsWith("has it")),
      rows.join("\n"),
    );
    // Sam's device goes away: a new message waits for it, and /info says for whom.
    await sam.client.close();
    await type("are you there?", true);
    await waitScreen(shows(`<${alice}> are you there? #5 [sent]`), "the third message, sent");
    await type("/info 5", true);
    rows = await waitScreen(shows("delivered to 0 of 1 devices"), "/info on a waiting message");
    assert.ok(
      rows.some((r) => r.includes(`${sam.username} (device `) && r.endsWith("waiting")),
      rows.join("\n"),
    );
    // The server keeps no messages (GET /api/info): /info says who gets it only with a device of ours online.
    await waitScreen(shows("This server keeps no messages;"), "the note of a server without storage");
    await type("/info 9", true);
    await waitScreen(shows("no message #9 of yours in this session"), "an unknown number");

    // /help fits the 80x24 screen whole, from its first row to the marks legend, and so does
    // a topic; an unknown topic names the topics.
    await type("/help", true);
    rows = await waitScreen(shows("marks: + verified"), "the help overview");
    const helpTop = rows.indexOf("Type a message and press Enter to send it to the current conversation.");
    assert.ok(helpTop >= 0, `the overview's first row is still on the screen:\n${rows.join("\n")}`);
    for (const topic of ["messages", "rooms", "manage", "privacy", "account", "security"])
      assert.ok(
        rows.some((r) => r.startsWith(`  ${topic} `)),
        `topic ${topic}:\n${rows.join("\n")}`,
      );
    await type("/help messages", true);
    rows = await waitScreen(shows("messages: reply, react"), "the messages topic");
    assert.ok(
      rows.some((r) => r.startsWith("  /reply <n> <text> ")),
      rows.join("\n"),
    );
    assert.ok(
      rows.some((r) => r.startsWith("  /files ")),
      `the topic's last row:\n${rows.join("\n")}`,
    );
    for (const row of rows) assert.ok([...row].length <= 80, `row fits 80 columns: ${row}`);
    await type("/help nonsense", true);
    await waitScreen(shows('no help topic "nonsense"'), "an unknown topic");

    // History is kept on the device by default: after a restart of the program, opening the
    // room shows what was said, and the files on disk hold none of it readable.
    await type("/quit", true);
    await term.waitGone();
    await term.start(command, ROOT);
    await waitScreen(shows(`signed in as ${alice}`), "resumed after the restart", 30_000);
    // The resumed session reopens the conversation that was open: no /switch needed.
    await waitScreen(shows("now talking in #den, where you were last"), "the last conversation reopened");
    await waitCursorRow("#den>", "the room's prompt");
    await waitScreen(
      shows(`<${sam.username}?> incoming while you type`),
      "the kept message, after a restart",
    );
    await waitScreen(shows(`<${alice}> partial words and the rest`), "the kept own message");
    // A yes/no question in the chat has its own prompt too, and the room's prompt comes back after it.
    await type("/reset-identity", true);
    await waitCursorRow("Reset your identity? [y/N]", "the question as the prompt");
    await type("n", true);
    rows = await waitScreen(shows("identity left as it was"), "the answer taken");
    assert.ok(rows.includes("Reset your identity? [y/N] n"), rows.join("\n"));
    assert.ok(!rows.includes("#den> n"), "the answer was not typed at the chat prompt");
    await waitCursorRow("#den>", "the room's prompt back");
    for (const file of await filesUnder(join(tmp, ".config"))) {
      const raw = await readFile(file);
      for (const said of ["incoming while you type", "partial words and the rest"]) {
        assert.ok(!raw.includes(said), `"${said}" is not readable in ${file}`);
      }
    }
  } finally {
    await term.kill();
  }
});
