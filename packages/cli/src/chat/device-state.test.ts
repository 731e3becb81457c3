import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isParleyClientError } from "@parley/client";
import { CliError, EXIT } from "../cli-error.js";
import { KEY_FILE, openDeviceState, stateFile } from "./device-state.js";
import { FileStore, FileStoreError } from "./file-store.js";

const ORIGIN = "https://127.0.0.1:8443";
const FAST = { N: 1024, r: 8, p: 1 };
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "parley-device-state-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function open(configDir: string, username: string, o: { passphrase?: string; usePassphrase?: boolean } = {}) {
  return openDeviceState({
    configDir,
    origin: ORIGIN,
    username,
    usePassphrase: o.usePassphrase ?? false,
    passphrase: async () => {
      if (o.passphrase === undefined) throw new Error("no passphrase was expected to be asked");
      return o.passphrase;
    },
    scryptParams: FAST,
  });
}

describe("FileStore", () => {
  it("round-trips values across instances, and writes the file 0600 in a 0700 directory", async () => {
    const file = join(dir, "fs", "sub", "store.json");
    const a = await FileStore.open(file);
    await Promise.all([a.put("x", bytes("one")), a.put("y", bytes("two")), a.put("z", bytes("three"))]);
    await a.delete("y");
    await a.delete("missing");
    const b = await FileStore.open(file);
    assert.equal(text(await b.get("x")), "one");
    assert.equal(await b.get("y"), undefined);
    assert.equal(text(await b.get("z")), "three");
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "fs", "sub"))).mode & 0o777, 0o700);
    assert.deepEqual(
      (await readdir(join(dir, "fs", "sub"))).filter((f) => f.endsWith(".tmp")),
      [],
      "no temp file is left behind",
    );
  });

  it("refuses a file that is not a device state instead of starting over", async () => {
    const file = join(dir, "fs", "broken.json");
    await writeFile(file, "{ not json");
    await assert.rejects(FileStore.open(file), FileStoreError);
    await writeFile(file, JSON.stringify({ version: 2, entries: {} }));
    await assert.rejects(FileStore.open(file), FileStoreError);
  });
});

describe("openDeviceState with the key file", () => {
  it("round-trips values, with only ciphertext on disk and a 0600 key file made on first use", async () => {
    const configDir = join(dir, "kf");
    const first = await open(configDir, "Alice");
    assert.equal(first.sealedWith, "key-file");
    await first.store.put("identity", bytes("secret identity key material"));
    const raw = await readFile(stateFile(configDir, ORIGIN, "alice"), "utf8");
    assert.ok(!raw.includes("secret identity"), "plaintext is not in the file");
    assert.ok(!raw.includes(Buffer.from("secret identity").toString("base64").slice(0, 12)));
    assert.equal((await stat(join(configDir, "chat", KEY_FILE))).mode & 0o777, 0o600);
    assert.equal((await stat(stateFile(configDir, ORIGIN, "alice"))).mode & 0o777, 0o600);

    const again = await open(configDir, "alice");
    assert.equal(text(await again.store.get("identity")), "secret identity key material");
  });

  it("detects a value altered on disk (store_tampered)", async () => {
    const configDir = join(dir, "tamper");
    const s = await open(configDir, "bob");
    await s.store.put("pins/x", bytes("pinned"));
    const file = stateFile(configDir, ORIGIN, "bob");
    const data = JSON.parse(await readFile(file, "utf8")) as { entries: Record<string, string> };
    const sealed = Buffer.from(data.entries["pins/x"] ?? "", "base64");
    sealed[sealed.length - 1] = (sealed[sealed.length - 1] ?? 0) ^ 1;
    data.entries["pins/x"] = sealed.toString("base64");
    await writeFile(file, JSON.stringify(data));
    const reopened = await open(configDir, "bob");
    await assert.rejects(reopened.store.get("pins/x"), (e) => isParleyClientError(e, "store_tampered"));
  });

  it("refuses a key file other users can read, as ssh does", async () => {
    const configDir = join(dir, "perm");
    await open(configDir, "carol");
    const keyFile = join(configDir, "chat", KEY_FILE);
    await chmod(keyFile, 0o644);
    await assert.rejects(
      open(configDir, "carol"),
      (e) => e instanceof CliError && /chmod 600/.test(e.message),
    );
    await chmod(keyFile, 0o600);
    await open(configDir, "carol");
  });

  it("refuses a state sealed with another key file", async () => {
    const configDir = join(dir, "otherkey");
    await open(configDir, "dan");
    await writeFile(join(configDir, "chat", KEY_FILE), Buffer.alloc(32, 7), { mode: 0o600 });
    await assert.rejects(
      open(configDir, "dan"),
      (e) => e instanceof CliError && e.exitCode === EXIT.failed && /another key file/.test(e.message),
    );
  });
});

describe("openDeviceState with a passphrase", () => {
  it("round-trips with the right passphrase and keeps no key file", async () => {
    const configDir = join(dir, "pp");
    const s = await open(configDir, "erin", { usePassphrase: true, passphrase: "correct horse battery" });
    assert.equal(s.sealedWith, "passphrase");
    await s.store.put("session", bytes("refresh token"));
    await assert.rejects(stat(join(configDir, "chat", KEY_FILE)), { code: "ENOENT" });
    const meta = JSON.parse(await readFile(s.file, "utf8")) as { meta: Record<string, unknown> };
    assert.equal(meta.meta.key, "scrypt");
    assert.equal(typeof meta.meta.salt, "string");

    // The store's own kind decides: no --passphrase needed to be asked again.
    const again = await open(configDir, "erin", { passphrase: "correct horse battery" });
    assert.equal(text(await again.store.get("session")), "refresh token");
  });

  it("refuses a wrong passphrase with one clear error before anything is read", async () => {
    const configDir = join(dir, "pp-wrong");
    const s = await open(configDir, "finn", { usePassphrase: true, passphrase: "right one here" });
    await s.store.put("k", bytes("v"));
    await assert.rejects(
      open(configDir, "finn", { passphrase: "wrong one here" }),
      (e) => e instanceof CliError && e.exitCode === EXIT.failed && /wrong passphrase/.test(e.message),
    );
  });

  it("refuses an empty passphrase", async () => {
    await assert.rejects(
      open(join(dir, "pp-empty"), "gus", { usePassphrase: true, passphrase: "" }),
      (e) => e instanceof CliError && e.exitCode === EXIT.usage,
    );
  });
});
