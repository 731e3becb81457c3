import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bytesSource, type FileSink, type MessageEvent } from "@parley/client";
import { DEFAULT_FILE_TYPES, fileTypeAllowed } from "@parley/protocol";
import mime from "mime-types";
import { CliProcess } from "./support/cli.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { nextEvent, type SdkUser, sdkSignUp } from "./support/sdk.js";

// `/send` and `/get` in `parley chat` (driven through pipes, so progress is printed as lines),
// against a real server, with an SDK member on the other side.

let tmp: string;
let ts: TestServer;
let sam: SdkUser;
let cli: CliProcess;
let roomId = "";
const alice = uniqueName("alice");

async function step(input: string[], expect: RegExp | string, ms?: number): Promise<string> {
  const from = cli.stdout.length;
  cli.send(...input);
  return cli.waitFor(expect, ms, from);
}

function memorySink(): FileSink & { bytes(): Buffer } {
  const parts: Uint8Array[] = [];
  return { write: (b) => void parts.push(b.slice()), bytes: () => Buffer.concat(parts) };
}

const fileFrom = (name: string) => (m: MessageEvent) => "file" in m.content && m.content.file.name === name;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "parley-cli-files-"));
  ts = await startTestServer({ fileMaxBytes: 3_000_000 });
  sam = await sdkSignUp(ts, "sam");
  cli = new CliProcess(["chat", ts.url], { HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  await cli.waitFor("not signed in");
  await step([`/register ${alice}`, STRONG_PASSWORD, STRONG_PASSWORD], `signed in as ${alice}`);
  const created = await step(["/create drop"], /created #drop \(id [0-9A-Z]{6}/);
  roomId = /id ([0-9A-Z]{6})/.exec(created)?.[1] ?? "";
  const invited = nextEvent(sam.client, "invited", (i) => i.room.id === roomId);
  await step([`/invite ${sam.username}`], `invited ${sam.username} to #drop`);
  await invited;
  const joined = cli.waitFor(`${sam.username} joined`, 20_000, cli.stdout.length);
  await sam.client.join(roomId);
  await joined;
});

after(async () => {
  await cli?.stop();
  await sam?.client.close();
  await ts?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("files in parley chat", () => {
  it("sends a file with /send, with progress, and the other member gets the same bytes", async () => {
    const path = join(tmp, "capture.pcap.zip");
    const bytes = randomBytes(2_500_000);
    await writeFile(path, bytes);
    const arriving = nextEvent(sam.client, "message", fileFrom("capture.pcap.zip"));
    const from = cli.stdout.length;
    cli.send(`/send ${path}`);
    await cli.waitFor("sending capture.pcap.zip (2.5 MB, application/zip)", 20_000, from);
    const line = await cli.waitFor(
      /<[^>]+> \[file\] capture\.pcap\.zip \(2\.5 MB, application\/zip\)/,
      30_000,
      from,
    );
    assert.match(line, new RegExp(`<${alice}>`));
    const progress = cli.stdout
      .slice(from)
      .split("\n")
      .filter((l) => l.includes("sending capture.pcap.zip ["));
    assert.ok(progress.length >= 1, `progress lines:\n${cli.stdout.slice(from)}`);
    const { content } = await arriving;
    assert.ok("file" in content);
    const sink = memorySink();
    await sam.client.downloadFile(content.file, sink);
    assert.ok(sink.bytes().equals(bytes));
  });

  it("sends every allowed type, named by its extension, and gets each back with /get", async () => {
    const out = join(tmp, "got");
    await mkdir(out);
    for (const [i, type] of DEFAULT_FILE_TYPES.entries()) {
      // Types with no extension of their own in mime-db go by their alias's (.aac is audio/x-aac).
      const ext = mime.extension(type) || { "audio/aac": "aac", "audio/flac": "flac" }[type];
      assert.ok(ext, `an extension for ${type}`);
      const name = `t${i}.${ext}`;
      const bytes = randomBytes(1000 + ((name.length * 131) % 5000));
      await writeFile(join(tmp, name), bytes);
      const arriving = nextEvent(sam.client, "message", fileFrom(name));
      await step([`/send ${join(tmp, name)}`], `] ${name} (`, 30_000);
      const { content } = await arriving;
      assert.ok("file" in content);
      assert.equal(content.file.type, mime.lookup(name));
      assert.ok(fileTypeAllowed(content.file.type, DEFAULT_FILE_TYPES), `${name} is sent as an allowed type`);
      // And back: sam sends the same bytes as exactly `type`, and the terminal saves them.
      const back = `back-${name}`;
      const shown = cli.waitFor(
        new RegExp(`\\[file\\] ${back.replace(/[.+]/g, "\\$&")} .* #(\\d+)$`),
        20_000,
        cli.stdout.length,
      );
      await sam.client.sendFile(roomId, bytesSource(bytes), { name: back, type });
      const n = /#(\d+)$/.exec(await shown)?.[1];
      await step([`/get ${n} ${out}`], `saved ${back} to`, 30_000);
      assert.ok((await readFile(join(out, back))).equals(bytes), type);
    }
  });

  it("lists the conversation's files with size and sender, and never overwrites a saved one", async () => {
    const listing = cli.stdout.length;
    cli.send("/files");
    const line = await cli.waitFor(
      new RegExp(`#(\\d+) \\[file\\] back-t0\\.txt \\(.*\\) from ${sam.username}`),
      20_000,
      listing,
    );
    const n = /^#(\d+)/.exec(line)?.[1];
    const out = join(tmp, "got");
    await step([`/get ${n} ${out}`], "saved back-t0.txt to");
    const names = await readdir(out);
    assert.ok(names.includes("back-t0.txt") && names.includes("back-t0 (1).txt"));
    assert.ok(!names.some((f) => f.endsWith(".part")), "no partial file is left");
  });

  it("refuses a file the server would refuse before uploading anything", async () => {
    const html = join(tmp, "page.html");
    await writeFile(html, "<script>alert(1)</script>");
    await step([`/send ${html}`], "this server does not take text/html files");
    const big = join(tmp, "big.txt");
    await writeFile(big, Buffer.alloc(3_000_001, 0x61));
    await step([`/send ${big}`], "this server takes files up to 3.0 MB");
    await step([`/send ${join(tmp, "missing.txt")}`], "cannot read");
    await step(["/get 99999"], "no message #99999");
  });

  it("saves a file name from the other member without its path", async () => {
    const out = join(tmp, "safe");
    await mkdir(out);
    const shown = cli.waitFor(/\[file\] \.\.\/\.\.\/evil\.txt .* #(\d+)$/, 20_000, cli.stdout.length);
    await sam.client.sendFile(roomId, bytesSource(Buffer.from("x")), {
      name: "../../evil.txt",
      type: "text/plain",
    });
    const n = /#(\d+)$/.exec(await shown)?.[1];
    await step([`/get ${n} ${out}`], "saved ../../evil.txt to");
    assert.deepEqual(await readdir(out), ["evil.txt"]);
  });
});
