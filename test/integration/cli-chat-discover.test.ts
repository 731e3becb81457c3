import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fingerprintRows } from "../../packages/cli/src/fingerprint-rows.js";
import { CliProcess, lines, ROOT } from "./support/cli.js";
import { STRONG_PASSWORD, uniqueName } from "./support/harness.js";
import { createNetnsPair, type NetnsPair, NetnsUnavailableError } from "./support/netns.js";

// `parley chat` without a URL: it finds the server over mDNS and connects to the one picked.
// As in mdns.test.ts, the server and the client run in two network namespaces joined by a veth
// pair on 198.51.100.0/24 (TEST-NET-2, RFC 5737), mDNS pinned to the veth ends, so no
// multicast packet reaches the machine's real interfaces (shared/DESIGN.md).

const SERVER_CIDR = "198.51.100.1/24";
const CLIENT_CIDR = "198.51.100.2/24";
const PORT = 18463;

let pair: NetnsPair | undefined;
let skipReason: string | undefined;
let server: CliProcess | undefined;
let tmp: string;
let caFingerprint = "";

const inNs =
  (ns: string) =>
  (argv: string[]): [string, string[]] => ["ip", ["netns", "exec", ns, ...argv]];

before(async () => {
  try {
    pair = await createNetnsPair({
      tag: `c${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 2).toString(36)}`,
      serverCidr: SERVER_CIDR,
      clientCidr: CLIENT_CIDR,
    });
  } catch (e) {
    if (!(e instanceof NetnsUnavailableError)) throw e;
    if (process.env.PARLEY_REQUIRE_SERVICES === "1") {
      throw new Error(`PARLEY_REQUIRE_SERVICES=1 but this test needs network namespaces: ${e.message}`);
    }
    skipReason = `network namespaces unavailable (needs root and iproute2): ${e.message}`;
    return;
  }
  tmp = await mkdtemp(join(tmpdir(), "parley-chat-discover-"));
  server = new CliProcess(
    ["server", "--host", "0.0.0.0", "--port", String(PORT), "--data-dir", join(tmp, "data")],
    {
      PARLEY_LOG_LEVEL: "info",
      PARLEY_MDNS: "on",
      PARLEY_MDNS_INTERFACE: pair.serverAddress,
      // TEST-NET-2 is not a private range: let the client's address in explicitly.
      PARLEY_ALLOW_CIDRS: "198.51.100.0/24",
    },
    inNs(pair.server),
  );
  const listening = await server.waitFor('"event":"listening"', 60_000);
  caFingerprint = (JSON.parse(listening) as { caFingerprint: string }).caFingerprint;
  await server.waitFor('"event":"mdns_advertising"', 20_000);
});

after(async () => {
  await server?.kill("SIGTERM");
  await pair?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("lists the servers found on the LAN, connects to the one picked, and pins its CA", async (t) => {
  if (!pair || !server) return t.skip(skipReason);
  const home = join(tmp, "home");
  const user = uniqueName("lan");
  const chat = new CliProcess(
    ["chat", "--interface", pair.clientAddress, "--timeout", "3"],
    { HOME: home, XDG_CONFIG_HOME: join(home, ".config") },
    inNs(pair.client),
  );
  try {
    await chat.waitFor(`https://${pair.serverAddress}:${PORT}`, 30_000);
    for (const row of fingerprintRows("    CA ", caFingerprint)) await chat.waitFor(row);
    await chat.waitFor("Which server? [1-1]");
    chat.send("1");
    await chat.waitFor("not signed in", 30_000);
    chat.send(`/register ${user}`, STRONG_PASSWORD, STRONG_PASSWORD);
    await chat.waitFor(`signed in as ${user}`, 30_000);
    const pins = JSON.parse(await readFile(join(home, ".config/parley/known_servers.json"), "utf8")) as {
      servers: Record<string, { caFingerprint: string }>;
    };
    assert.equal(pins.servers[`https://${pair.serverAddress}:${PORT}`]?.caFingerprint, caFingerprint);
  } finally {
    await chat.stop();
  }
  assert.equal(await chat.exited, 0, chat.stderr);
});

describe("an announcement naming another CA than the server presents", () => {
  // A forger in the server's namespace announces the real server's address and port under
  // another name, with a CA fingerprint that is not the server's.
  const FORGED = Array.from({ length: 32 }, () => "AB").join(":");
  let forger: CliProcess | undefined;
  before(async () => {
    if (!pair || !server) return;
    forger = new CliProcess(
      [pair.serverAddress, String(PORT), FORGED, "forger"],
      {},
      inNs(pair.server),
      join(ROOT, "test/integration/support/mdns-announce.ts"),
    );
    await forger.waitFor('"event":"mdns_advertising"', 20_000);
  });
  after(async () => {
    await forger?.kill("SIGTERM");
  });

  /** `parley chat` without a URL, picking the forged entry from the list. */
  async function pickForged(home: string): Promise<CliProcess> {
    assert.ok(pair);
    const chat = new CliProcess(
      ["chat", "--interface", pair.clientAddress, "--timeout", "3"],
      { HOME: home, XDG_CONFIG_HOME: join(home, ".config") },
      inNs(pair.client),
    );
    const entry = await chat.waitFor("Parley on forger", 30_000);
    for (const row of fingerprintRows("    CA ", FORGED)) await chat.waitFor(row);
    await chat.waitFor("Which server? [1-2]");
    chat.send(entry.trim().split(".")[0] ?? "");
    return chat;
  }

  it("is refused on first use with both fingerprints, exit 3, and nothing pinned", async (t) => {
    if (!pair || !server) return t.skip(skipReason);
    const home = join(tmp, "first-use");
    const chat = await pickForged(home);
    assert.equal(await chat.exited, 3, chat.stderr);
    assert.match(chat.stderr, /REFUSED: .* presents another CA than the one announced for it on the LAN/);
    // Each fingerprint in rows of whole bytes (16 to a row), under its label.
    for (const row of [
      ...fingerprintRows("announced: ", FORGED),
      ...fingerprintRows("presented: ", caFingerprint),
    ])
      assert.ok(chat.stderr.includes(row), chat.stderr);
    await assert.rejects(readFile(join(home, ".config/parley/known_servers.json"), "utf8"), {
      code: "ENOENT",
    });
  });

  it("does not override a pin: the pinned CA is used, with a warning about the announcement", async (t) => {
    if (!pair || !server) return t.skip(skipReason);
    const home = join(tmp, "pinned");
    const user = uniqueName("pin");
    const first = new CliProcess(
      ["chat", `https://${pair.serverAddress}:${PORT}`],
      { HOME: home, XDG_CONFIG_HOME: join(home, ".config") },
      inNs(pair.client),
    );
    try {
      await first.waitFor("not signed in", 30_000);
      first.send(`/register ${user}`, STRONG_PASSWORD, STRONG_PASSWORD);
      await first.waitFor(`signed in as ${user}`, 30_000);
    } finally {
      await first.stop();
    }
    const chat = await pickForged(home);
    try {
      await chat.waitFor("Warning: the LAN announcement of", 30_000);
      for (const row of fingerprintRows("  announced: ", FORGED)) await chat.waitFor(row);
      await chat.waitFor(`signed in as ${user}`, 30_000);
    } finally {
      await chat.stop();
    }
    assert.equal(await chat.exited, 0, chat.stderr);
  });

  it("parley discover --check tells the real server from the forged announcement, and shows the pin", async (t) => {
    if (!pair || !server) return t.skip(skipReason);
    const home = join(tmp, "pinned"); // the real CA was pinned there by the test above
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, ".config") };
    const args = ["discover", "--interface", pair.clientAddress, "--timeout", "3", "--check"];
    const json = new CliProcess([...args, "--json"], env, inNs(pair.client));
    assert.equal(await json.exited, 0, json.stderr);
    type Entry = {
      name: string;
      caFingerprint: string;
      pinned: string | null;
      check?: { status: string; presented: string | null };
    };
    const { servers } = JSON.parse(json.stdout) as { servers: Entry[] };
    const real = servers.find((s) => s.caFingerprint === caFingerprint);
    const forged = servers.find((s) => s.caFingerprint === FORGED);
    assert.deepEqual(
      [real?.check?.status, real?.check?.presented, real?.pinned],
      ["verified", caFingerprint, caFingerprint],
    );
    assert.deepEqual(
      [forged?.name, forged?.check?.status, forged?.check?.presented, forged?.pinned],
      ["Parley on forger", "differs", caFingerprint, caFingerprint],
    );

    // The same, as a person reads it.
    const text = new CliProcess(args, env, inNs(pair.client));
    assert.equal(await text.exited, 0, text.stderr);
    assert.match(text.stdout, /check {5}verified: the server holds a key this CA certified/);
    assert.match(
      text.stdout,
      /check {5}DIFFERS: the server presents another CA; someone may be impersonating it/,
    );
    assert.ok(text.stdout.includes(`pinned    ANOTHER CA: ${caFingerprint}`), text.stdout);
    assert.ok(text.stdout.includes("pinned    yes, this CA"), text.stdout);
  });
});

it("exits 1 with one line when no server answers and no URL was given", async (t) => {
  if (!pair) return t.skip(skipReason);
  // The client end alone, asking on the loopback of its namespace: nobody advertises there.
  const chat = new CliProcess(
    ["chat", "--interface", "127.0.0.1", "--timeout", "1"],
    { HOME: join(tmp, "nobody"), XDG_CONFIG_HOME: join(tmp, "nobody", ".config") },
    inNs(pair.client),
  );
  assert.equal(await chat.exited, 1, chat.stderr);
  assert.match(chat.stderr, /^parley chat: no Parley server found on the LAN/);
  assert.equal(lines(chat.stderr).length, 1, chat.stderr);
});
