import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { bytesSource, type MessageEvent } from "@parley/client";
import { CLI, NODE_ARGS, ROOT } from "./support/cli.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { nextEvent, type SdkUser, sdkSignUp } from "./support/sdk.js";
import { haveTmux, TmuxSession } from "./support/tmux.js";

// `/send` and `/get` in `parley chat` on a real 80x24 terminal (tmux): the file's line, the
// progress bar on the prompt, the saved file's bytes, and the prompt back to normal after.

let tmp: string;
let ts: TestServer;
let sam: SdkUser;
let term: TmuxSession | undefined;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "parley-files-tmux-"));
  ts = await startTestServer({ fileMaxBytes: 64_000_000 });
  sam = await sdkSignUp(ts, "sam");
});

after(async () => {
  await term?.kill();
  await sam?.client.close();
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("sends and gets files on a terminal, with a progress bar on the prompt", async (t) => {
  if (!(await haveTmux())) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1") assert.fail("tmux is missing");
    t.skip("tmux is not installed");
    return;
  }
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  const alice = uniqueName("alice");
  await term.start(
    [process.execPath, ...NODE_ARGS, CLI, "chat", ts.url].map((a) => `'${a}'`).join(" "),
    ROOT,
  );
  await term.waitFor("Trust this server and remember its CA? [y/N]", 60_000);
  await term.type("y", true);
  await term.waitFor("not signed in", 30_000);
  await term.type(`/register ${alice}`, true);
  await term.waitFor(`Password for ${alice}:`);
  await term.type(STRONG_PASSWORD, true);
  await term.waitFor("The same password again:");
  await term.type(STRONG_PASSWORD, true);
  await term.waitFor(`signed in as ${alice}`, 30_000);
  await term.type("/create box", true);
  const rows = await term.waitFor("created #box (id ");
  const roomId = /created #box \(id ([0-9A-Z]{6})/.exec(rows.join("\n"))?.[1] ?? "";
  const invited = nextEvent(sam.client, "invited", (i) => i.room.id === roomId);
  await term.type(`/invite ${sam.username}`, true);
  await invited;
  await sam.client.join(roomId);
  await term.waitFor(`${sam.username} joined`);

  // A file large enough to take several parts: the prompt shows the bar while it goes.
  const bytes = randomBytes(12_000_000);
  const path = join(tmp, "dump.zip");
  await writeFile(path, bytes);
  const arrived = nextEvent(sam.client, "message", (m: MessageEvent) => "file" in m.content, 60_000);
  await term.type(`/send ${path}`, true);
  const bar = await term.waitFor(
    (r) => r.some((row) => /\^ dump\.zip \[[#-]{12}\] +\d+% \| #box>/.test(row)),
    60_000,
  );
  assert.ok(bar.some((row) => row.includes("sending dump.zip (12 MB, application/zip)")));
  await term.waitFor(
    (r) => r.some((row) => /<[^>]+> \[file\] dump\.zip \(12 MB, application\/zip\)/.test(row)),
    60_000,
  );
  await term.waitFor((r) => r.some((row) => row.trimEnd() === "#box>"), 20_000);
  const { content } = await arrived;
  assert.ok("file" in content);
  const parts: Uint8Array[] = [];
  await sam.client.downloadFile(content.file, { write: (b) => void parts.push(b.slice()) });
  assert.ok(Buffer.concat(parts).equals(bytes));

  // Sam's file, listed with its sender and size, then saved with /get.
  const notes = Buffer.from("minutes of the meeting\n".repeat(100));
  await sam.client.sendFile(roomId, bytesSource(notes), { name: "notes.txt", type: "text/plain" });
  const shown = await term.waitFor("[file] notes.txt (2.3 kB, text/plain)");
  const n = /\[file\] notes\.txt .* #(\d+)/.exec(shown.join("\n"))?.[1];
  assert.ok(n);
  await term.type("/files", true);
  await term.waitFor(`#${n} [file] notes.txt (2.3 kB, text/plain) from ${sam.username}`);
  const out = join(tmp, "in");
  await mkdir(out);
  await term.type(`/get ${n} ${out}`, true);
  await term.waitFor("saved notes.txt to");
  assert.ok((await readFile(join(out, "notes.txt"))).equals(notes));
  await term.type("/quit", true);
});
