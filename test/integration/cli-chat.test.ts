import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fingerprintRows } from "../../packages/cli/src/fingerprint-rows.js";
import { CliProcess, lines, parley } from "./support/cli.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { linkBySdk, nextEvent, type SdkUser, sdkClient, sdkSignUp } from "./support/sdk.js";

// `parley chat` as a child process driven through pipes (stdin is not a terminal, so it reads
// plain lines), against a real server on 127.0.0.1, talking with SDK clients in this process
// and with a second `parley chat`. The tmux test (cli-chat-tmux.test.ts) covers the terminal.

let tmp: string;
let ts: TestServer;
let sam: SdkUser;
const running: CliProcess[] = [];
const extra: TestServer[] = [];

/** `parley chat <url>` with its own XDG_CONFIG_HOME (so the default config dir is used). */
function chat(home: string, url = ts.url, args: string[] = []): CliProcess {
  const cli = new CliProcess(["chat", url, ...args], {
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
  });
  running.push(cli);
  return cli;
}

/** Sends lines and waits for the line that shows they were handled. */
async function step(cli: CliProcess, input: string[], expect: RegExp | string, ms?: number): Promise<string> {
  const from = cli.stdout.length;
  cli.send(...input);
  return cli.waitFor(expect, ms, from);
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "parley-cli-chat-"));
  ts = await startTestServer();
  sam = await sdkSignUp(ts, "sam");
});

after(async () => {
  await Promise.all(running.map((c) => c.stop()));
  await sam?.client.close();
  await Promise.all([ts?.stop(), ...extra.map((s) => s.stop())]);
  await rm(tmp, { recursive: true, force: true });
});

describe("parley chat", () => {
  const aliceHome = () => join(tmp, "alice");
  const alice = uniqueName("alice");
  const bob = uniqueName("bob");
  let a: CliProcess;
  let b: CliProcess;
  let roomId = "";
  let aliceId = "";

  it("pins the server's CA on first use, registers, and keeps the password off the screen", async () => {
    a = chat(aliceHome());
    await a.waitFor("not signed in");
    // In rows of whole bytes, so no terminal folds it in the middle of one.
    for (const row of fingerprintRows("  SHA-256 ", ts.server.caFingerprint ?? "?"))
      assert.ok(lines(a.stdout).includes(row), `the CA fingerprint is shown before pinning: ${row}`);
    await step(a, [`/register ${alice}`, STRONG_PASSWORD, STRONG_PASSWORD], `signed in as ${alice}`);
    const pins = JSON.parse(
      await readFile(join(aliceHome(), ".config/parley/known_servers.json"), "utf8"),
    ) as {
      servers: Record<string, { caFingerprint: string }>;
    };
    assert.equal(pins.servers[ts.url]?.caFingerprint, ts.server.caFingerprint);
    aliceId = (await sam.client.users()).find((u) => u.username === alice)?.id ?? "";
    assert.ok(aliceId);
  });

  it("creates a room, invites an SDK user, and exchanges end-to-end encrypted messages both ways", async () => {
    const created = await step(a, ["/create lounge --public"], /created #lounge \(id [0-9A-Z]{6}\), public/);
    roomId = /id ([0-9A-Z]{6})/.exec(created)?.[1] ?? "";
    const invited = nextEvent(sam.client, "invited", (i) => i.room.id === roomId);
    await step(a, [`/invite ${sam.username}`], `invited ${sam.username} to #lounge`);
    await invited;
    const joined = a.waitFor(`${sam.username} joined`, 20_000, a.stdout.length);
    await sam.client.join(roomId);
    await joined;

    const got = nextEvent(sam.client, "message", (m) => m.text === "hello from the terminal");
    await step(a, ["hello from the terminal"], `<${alice}> hello from the terminal`);
    const m = await got;
    assert.equal(m.from.username, alice);
    assert.equal(m.roomId, roomId);

    const from = a.stdout.length;
    await sam.client.send(roomId, "hello back from the SDK");
    const line = await a.waitFor("hello back from the SDK", 20_000, from);
    assert.match(line, new RegExp(`^\\d\\d:\\d\\d <${sam.username}\\?> hello back from the SDK #\\d+$`));
  });

  it("talks with a second parley chat in the room and by direct message", async () => {
    b = chat(join(tmp, "bob"));
    await b.waitFor("not signed in");
    await step(b, [`/register ${bob}`, STRONG_PASSWORD, STRONG_PASSWORD], `signed in as ${bob}`);
    const seen = a.waitFor(`${bob} joined`, 20_000, a.stdout.length);
    await step(b, [`/join ${roomId.toLowerCase()}`], `joined #lounge (${roomId})`);
    await seen;

    let from = a.stdout.length;
    await step(b, ["hi from bob"], `<${bob}> hi from bob`);
    await a.waitFor(new RegExp(`<${bob}\\?> hi from bob #\\d+$`), 20_000, from);

    from = b.stdout.length;
    await step(a, ["hi bob, alice here"], `<${alice}> hi bob, alice here`);
    await b.waitFor(new RegExp(`<${alice}\\?> hi bob, alice here #\\d+$`), 20_000, from);

    from = b.stdout.length;
    await step(a, [`/msg ${bob} just between us`], "just between us");
    await b.waitFor(new RegExp(`@${alice} <${alice}\\?> just between us #\\d+$`), 20_000, from);
    await step(b, [`/switch @${alice}`], `now talking in @${alice}`);
    from = a.stdout.length;
    await step(b, ["got it"], `<${bob}> got it`);
    await a.waitFor(new RegExp(`@${bob} <${bob}\\?> got it #\\d+$`), 20_000, from);
  });

  it("/disappear sets the room's timer for every member, each told in one line", async () => {
    await step(a, ["/switch lounge"], "now talking in #lounge");
    let from = b.stdout.length;
    await step(a, ["/disappear 1d"], "you set disappearing messages to 1 day");
    await b.waitFor(`#lounge: ${alice} set disappearing messages to 1 day`, 20_000, from);
    await step(b, ["/switch lounge", "/disappear"], "disappearing messages in #lounge: 1 day");
    await step(b, ["/disappear 2d"], "usage: /disappear [off|1h|1d|1w]");
    from = b.stdout.length;
    await step(a, ["/disappear off"], "you turned off disappearing messages");
    await b.waitFor(`${alice} turned off disappearing messages`, 20_000, from);
    await step(b, [`/switch @${alice}`], `now talking in @${alice}`);
  });

  it("/receipts off sends no read receipts, and on sends them again", async () => {
    await step(b, [`/switch @${alice}`], `now talking in @${alice}`);
    await step(b, ["/receipts"], "read receipts: on");
    await step(b, ["/receipts off"], "read receipts: off");
    await step(b, ["/receipts maybe"], "usage: /receipts [on|off]");
    await step(a, [`/switch @${bob}`], `now talking in @${bob}`);
    const from = a.stdout.length;
    const first = await step(a, ["seen but not told"], /#(\d+) \[sent\]/);
    const quiet = /#(\d+) \[sent\]/.exec(first.slice(first.lastIndexOf("seen but not told")))?.[1];
    assert.ok(quiet, first);
    await a.waitFor(`#${quiet} [delivered]`, 20_000, from);
    await step(b, ["/receipts on"], "read receipts: on");
    const second = await step(a, ["seen and told"], /#(\d+) \[sent\]/);
    const told = /#(\d+) \[sent\]/.exec(second.slice(second.lastIndexOf("seen and told")))?.[1];
    assert.ok(told, second);
    await a.waitFor(`#${told} [read]`, 20_000, from);
    // Receipts go in order: had bob's device sent one for the first message, it would be here.
    assert.ok(!a.stdout.slice(from).includes(`#${quiet} [read]`), "no read receipt while sharing was off");
  });

  it("/rooms and /who list the conversations, who is online and the room's members", async () => {
    await step(a, ["/switch lounge"], "now talking in #lounge");
    const rooms = await step(a, ["/rooms"], `@${bob}`);
    assert.match(rooms, new RegExp(`@${bob}\\s+[0-9A-Z]{6}\\s+direct`));
    await a.waitFor(new RegExp(`\\* #lounge\\s+${roomId}\\s+public room`));
    const from = a.stdout.length;
    await step(a, ["/who"], /^members of #lounge \(3\):/);
    const online = a.stdout
      .slice(from)
      .split("\n")
      .find((l) => l.startsWith("online ("));
    for (const name of [alice, bob, sam.username])
      assert.ok(online?.includes(name), `${name} online: ${online}`);
    await a.waitFor(new RegExp(`^ {2}\\? ${sam.username}$`), 5_000, from);
    await a.waitFor(new RegExp(`^ {4}${alice} \\(owner\\)$`), 5_000, from);
  });

  it("/subscribe shows when a followed user comes and goes", async () => {
    const carolClient = sdkClient(ts);
    const carol = uniqueName("carol");
    await carolClient.register(carol, STRONG_PASSWORD);
    try {
      await step(a, [`/subscribe ${carol}`], `following ${carol} (offline now)`);
      let from = a.stdout.length;
      await carolClient.connect();
      await a.waitFor(`-- ${carol} is online`, 20_000, from);
      from = a.stdout.length;
      await carolClient.close();
      await a.waitFor(`-- ${carol} is offline`, 20_000, from);
      await step(a, [`/unsubscribe ${carol}`], `no longer following ${carol}`);
    } finally {
      await carolClient.close();
    }
  });

  it("/verify prints the safety number the SDK computes and marks the user verified", async () => {
    const expected = await sam.client.safetyNumber(aliceId);
    const from = a.stdout.length;
    await step(a, [`/verify ${sam.username}`], `Mark ${sam.username} as verified? [y/N]`);
    const shown = a.stdout
      .slice(from)
      .split("\n")
      .filter((l) => /^ {4}\d{5}( \d{5}){3}$/.test(l))
      .join(" ")
      .split(/\s+/)
      .filter(Boolean);
    assert.deepEqual(shown, [...expected.groups]);
    assert.equal(shown.join("").length, 60);
    await step(a, ["y"], `${sam.username} is verified +`);
    const at = a.stdout.length;
    await sam.client.send(roomId, "now you know it is me");
    await a.waitFor(new RegExp(`<${sam.username}\\+> now you know it is me #\\d+$`), 20_000, at);
  });

  it("tells of a contact's new linked device in one line, without an alarm, and keeps them verified", async () => {
    // Sam links a new device from his first one: the same identity, so no warning.
    const from = a.stdout.length;
    const newDevice = sdkClient(ts);
    try {
      await newDevice.login(sam.username, STRONG_PASSWORD);
      await linkBySdk(sam.client, newDevice);
      const at = a.stdout.length;
      await newDevice.send(roomId, "same sam, new phone");
      await a.waitFor(new RegExp(`<${sam.username}\\+> same sam, new phone #\\d+$`), 20_000, at);
      await a.waitFor(new RegExp(`${sam.username} added a device$`), 20_000, from);
      assert.doesNotMatch(a.stdout.slice(from), /WARNING/);
    } finally {
      await newDevice.close();
    }
  });

  it("reports a wrong password in one line and goes on", async () => {
    await step(b, ["/logout", "n"], `${bob} signed out`);
    await step(b, [`/login ${bob}`, "Wrong-Password-99!"], /^!! .*\(invalid_credentials\)$/);
    await step(b, [`/login ${bob}`, STRONG_PASSWORD], `signed in as ${bob}`);
  });

  it("says the password rules before /register, names the ones a refused password breaks, and registers nothing", async () => {
    const carol = uniqueName("carol");
    const c = chat(join(tmp, "carol"));
    await c.waitFor("not signed in");
    const from = c.stdout.length;
    c.send(`/register ${carol}`);
    // Lines are wrapped at 80 columns, continuation lines indented.
    await c.waitFor(
      /-- passwords here need 12 to \d+ characters, an uppercase letter and a$/,
      undefined,
      from,
    );
    c.send("zq8kw", "zq8kw");
    await c.waitFor(
      "!! The password is shorter than 12 characters, needs an uppercase letter and",
      undefined,
      from,
    );
    await c.waitFor(/^ +needs a special character\. Nothing was registered\.$/, undefined, from);
    assert.ok(!c.stdout.includes("zq8kw"), "the refused password is not echoed");
    assert.equal(
      (await sam.client.users()).find((u) => u.username === carol),
      undefined,
    );
    await step(c, [`/register ${carol}`, STRONG_PASSWORD, STRONG_PASSWORD], `signed in as ${carol}`);
    c.send("/quit");
    assert.equal(await c.exited, 0, c.stderr);
  });

  it("resumes the session from the sealed device state after a restart, with nothing readable at rest", async () => {
    assert.equal(await a.stop(), 0, a.stderr);
    a = chat(aliceHome());
    await a.waitFor(`signed in as ${alice}`);
    // History is kept by default: opening the room shows what was said before the restart.
    await step(a, ["/switch lounge"], `<${alice}> hello from the terminal`);
    const got = nextEvent(sam.client, "message", (m) => m.text === "after the restart");
    await step(a, ["after the restart"], `<${alice}> after the restart`);
    assert.equal((await got).from.username, alice, "the resumed device still speaks in the room's group");

    const dir = join(aliceHome(), ".config/parley/chat");
    const key = await stat(join(dir, "device.key"));
    assert.equal(key.mode & 0o777, 0o600);
    const [server] = await readdir(dir, { withFileTypes: true }).then((e) =>
      e.filter((d) => d.isDirectory()),
    );
    assert.ok(server);
    const stateFile = join(dir, server.name, `${alice.toLowerCase()}.json`);
    assert.equal((await stat(stateFile)).mode & 0o777, 0o600);
    const raw = await readFile(stateFile, "utf8");
    assert.match(raw, /"history\/room\/[0-9A-Z]{6}"/, "the history is in the state file");
    for (const secret of ["hello from the terminal", "after the restart", STRONG_PASSWORD, "refresh"]) {
      assert.ok(!raw.includes(secret), `"${secret}" is not readable in the state file`);
    }
    for (const cli of [a, b]) {
      assert.ok(!cli.stdout.includes(STRONG_PASSWORD), "the password is never printed");
      assert.ok(!cli.stderr.includes(STRONG_PASSWORD), "the password is never printed");
    }
  });

  it("keeps nothing once told so, and /logout with erase deletes this device's keys and history", async () => {
    await step(a, ["/history none"], "This device keeps no history");
    const dir = join(aliceHome(), ".config/parley/chat");
    const [server] = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory());
    assert.ok(server);
    const stateFile = join(dir, server.name, `${alice.toLowerCase()}.json`);
    assert.doesNotMatch(await readFile(stateFile, "utf8"), /"history\/room\//, "no kept conversation");
    await step(a, ["/switch lounge"], "This device keeps no history");
    await step(a, ["/history all"], "This device keeps the history");
    await step(a, ["/switch lounge"], "now talking in #lounge");

    await step(a, ["/logout"], "Erase this device's keys and history");
    await step(a, ["y"], `${alice} signed out; this device's keys and history are erased`);
    await assert.rejects(stat(stateFile), { code: "ENOENT" });

    // A new device state from here on: the room is still hers, its history is not here. Her
    // identity key went with the erased state and no other device holds it: she resets it
    // (issue 14: nothing is made silently).
    await step(a, [`/login ${alice}`, STRONG_PASSWORD], "[l/r]");
    await step(a, ["r", STRONG_PASSWORD], `signed in as ${alice}`);
    const from = a.stdout.length;
    await step(a, ["/switch lounge", "/history"], "This device keeps the history");
    assert.ok(!a.stdout.slice(from).includes("hello from the terminal"), a.stdout.slice(from));
  });

  it("quits on /quit with exit 0", async () => {
    b.send("/quit");
    assert.equal(await b.exited, 0, b.stderr);
  });
});

describe("parley chat with a passphrase", () => {
  it("seals the device state with PARLEY_PASSPHRASE and refuses a wrong one at the next start", async () => {
    const home = join(tmp, "passphrase");
    const env = (passphrase: string) => ({
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      PARLEY_PASSPHRASE: passphrase,
    });
    const user = uniqueName("pat");
    const first = new CliProcess(["chat", ts.url], env("a long and right passphrase"));
    running.push(first);
    await step(first, [`/register ${user}`, STRONG_PASSWORD, STRONG_PASSWORD], `signed in as ${user}`);
    assert.equal(await first.stop(), 0, first.stderr);
    await assert.rejects(stat(join(home, ".config/parley/chat/device.key")), { code: "ENOENT" });

    const wrong = new CliProcess(["chat", ts.url], env("not the passphrase at all"));
    running.push(wrong);
    await wrong.waitFor(new RegExp(`^!! cannot open the device state of ${user}: wrong passphrase`));
    await wrong.waitFor(`not signed in: /login ${user}`);
    assert.equal(await wrong.stop(), 0, wrong.stderr);

    const right = new CliProcess(["chat", ts.url], env("a long and right passphrase"));
    running.push(right);
    await right.waitFor(`signed in as ${user}`);
    assert.ok(!right.stdout.includes("a long and right passphrase"), "the passphrase is never printed");
  });
});

describe("parley chat and a changed server CA", () => {
  it("refuses a server whose CA differs from the pinned one, with the warning and exit 3", async () => {
    const other = await startTestServer();
    extra.push(other);
    assert.notEqual(other.server.caFingerprint, ts.server.caFingerprint);
    const home = join(tmp, "pinned");
    const config = join(home, ".config", "parley");
    await rm(config, { recursive: true, force: true });
    await mkdir(config, { recursive: true });
    // This machine pinned the first server's CA for this address; now another CA answers there.
    await writeFile(
      join(config, "known_servers.json"),
      JSON.stringify({
        version: 1,
        servers: {
          [other.url]: { caFingerprint: ts.server.caFingerprint, pinnedAt: new Date().toISOString() },
        },
      }),
    );
    const run = await parley(["chat", other.url], { HOME: home, XDG_CONFIG_HOME: join(home, ".config") });
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      /^parley chat: REFUSED: the CA fingerprint of https:\/\/127\.0\.0\.1:\d+ changed/,
    );
    // Each fingerprint in rows of whole bytes (16 to a row), under its label.
    for (const row of [
      ...fingerprintRows("pinned:  ", ts.server.caFingerprint ?? ""),
      ...fingerprintRows("offered: ", other.server.caFingerprint ?? ""),
    ])
      assert.ok(run.stderr.includes(row), run.stderr);
    assert.ok(lines(run.stderr).length > 1, "the fingerprints follow the one-line reason");
    const pins = JSON.parse(await readFile(join(config, "known_servers.json"), "utf8")) as {
      servers: Record<string, { caFingerprint: string }>;
    };
    assert.equal(pins.servers[other.url]?.caFingerprint, ts.server.caFingerprint, "the pin is left alone");
  });
});
