import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KNOWN_SERVERS_FILE, KnownServers, KnownServersError, originOf } from "./known-servers.js";

const A = "2C:5F:38:48:17:84:16:61:86:3D:E6:F7:36:D0:6E:7F:D4:A5:62:2D:C4:80:E3:36:31:34:59:4B:B9:94:D6:AA";
const B = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "parley-known-servers-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
let n = 0;
const freshDir = () => join(root, `c${++n}`, "parley");

describe("KnownServers", () => {
  it("knows no server before the file exists", async () => {
    const known = await KnownServers.load(freshDir());
    assert.equal(known.get("https://192.168.1.20:8443"), undefined);
  });

  it("keeps a pin across loads, under the URL's origin", async () => {
    const dir = freshDir();
    await (await KnownServers.load(dir)).pin("https://LAB-PC.local:8443/some/path", A);
    const again = await KnownServers.load(dir);
    assert.equal(again.get("https://lab-pc.local:8443")?.caFingerprint, A);
    assert.equal(again.get("https://lab-pc.local:9443"), undefined, "another port is another server");
  });

  it("writes the file with mode 0600 in a 0700 directory", {
    skip: process.platform === "win32",
  }, async () => {
    const dir = freshDir();
    await (await KnownServers.load(dir)).pin("https://10.0.0.1:8443", A);
    assert.equal((await stat(join(dir, KNOWN_SERVERS_FILE))).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  it("replaces a pin when asked to, keeping the others", async () => {
    const dir = freshDir();
    const known = await KnownServers.load(dir);
    await known.pin("https://10.0.0.1:8443", A);
    await known.pin("https://10.0.0.2:8443", A);
    await known.pin("https://10.0.0.1:8443", B);
    const text = JSON.parse(await readFile(join(dir, KNOWN_SERVERS_FILE), "utf8"));
    assert.equal(text.version, 1);
    assert.equal(text.servers["https://10.0.0.1:8443"].caFingerprint, B);
    assert.equal(text.servers["https://10.0.0.2:8443"].caFingerprint, A);
  });

  it("refuses to pin something that is not a SHA-256 fingerprint", async () => {
    const known = await KnownServers.load(freshDir());
    await assert.rejects(known.pin("https://10.0.0.1:8443", "ab:cd"), TypeError);
  });

  it("throws on a damaged file rather than trusting the next server from scratch", async () => {
    for (const body of [
      "not json",
      "[]",
      '{"version":2,"servers":{}}',
      `{"version":1,"servers":{"https://10.0.0.1:8443":{"caFingerprint":"nope"}}}`,
      `{"version":1,"servers":{"not a url":{"caFingerprint":"${A}"}}}`,
    ]) {
      const dir = freshDir();
      await (await KnownServers.load(dir)).pin("https://10.0.0.9:8443", A);
      await writeFile(join(dir, KNOWN_SERVERS_FILE), body);
      await assert.rejects(KnownServers.load(dir), KnownServersError, body);
    }
  });

  it("ignores a __proto__ key in a hand-edited file", async () => {
    const dir = freshDir();
    await (await KnownServers.load(dir)).pin("https://10.0.0.9:8443", A);
    await writeFile(
      join(dir, KNOWN_SERVERS_FILE),
      `{"version":1,"servers":{"__proto__":{"caFingerprint":"${B}"},"https://10.0.0.9:8443":{"caFingerprint":"${A}"}}}`,
    );
    const known = await KnownServers.load(dir);
    assert.equal(known.get("https://10.0.0.9:8443")?.caFingerprint, A);
    assert.equal(({} as Record<string, unknown>).caFingerprint, undefined);
  });
});

describe("originOf", () => {
  it("drops path, query and the default port, and lower-cases the host", () => {
    assert.equal(originOf("https://Example.LOCAL:443/a?b=c"), "https://example.local");
    assert.equal(originOf("https://[::1]:8443/"), "https://[::1]:8443");
  });
});
