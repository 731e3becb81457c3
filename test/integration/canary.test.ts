import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoryStore, type MessageEvent, ParleyClient } from "@parley/client";
import Database from "better-sqlite3";
import { pinnedWebSocket } from "../../packages/cli/src/chat/websocket.js";
import { trustedFetch } from "../../packages/cli/src/https-fetch.js";
import { asUserId } from "../../packages/server/src/domain/ids.js";
import {
  login,
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

test("nothing a user says is stored or logged: a canary is in no file of the data dir and no log line", async () => {
  const canary = `CANARY-${randomBytes(12).toString("hex")}`;
  const encoded = Buffer.from(canary).toString("base64");
  const ts = await startTestServer({ logLevel: "trace" });
  try {
    const alice = await registerUser(ts);
    const bob = await registerUser(ts);
    const a = await TestSocket.authed(ts, alice.accessToken);
    const b = await TestSocket.authed(ts, bob.accessToken);
    const room = await a.call({ type: "room.create", name: "canary-room", isPublic: true });
    assert.equal(room.type, "room");
    const roomId = room.type === "room" ? room.room.id : "";
    await b.call({ type: "room.join", roomId });

    // The canary travels every way content can: room message, direct payload, typing-free
    // paths, an invalid frame, and as a password attempt.
    await a.call({ type: "message.send", to: { room: roomId }, payload: encoded });
    const got = await b.next("message");
    assert.equal(got.payload, encoded, "the canary was relayed");
    await a.call({ type: "message.send", to: { user: bob.user.id }, payload: encoded });
    await b.next("message");
    a.send({ type: "message.send", to: { room: roomId }, payload: `${canary}!!not-base64` });
    assert.equal((await a.next("error")).code, "validation_failed");
    a.send(`{"type":"message.send","payload":"${canary}"`);
    assert.equal((await a.next("error")).code, "malformed_json");
    const badLogin = await request(ts, "POST", "/api/login", {
      body: { username: alice.user.username, password: canary },
    });
    assert.equal(badLogin.status, 401);
    const newPassword = await request(ts, "POST", "/api/password", {
      token: alice.accessToken,
      body: { currentPassword: STRONG_PASSWORD, newPassword: canary },
    });
    // It passes the policy, so it becomes alice's password: stored only as an argon2id hash.
    assert.equal(newPassword.status, 204);
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  } finally {
    await ts.stop();
  }

  const needles = [canary, encoded, canary.toLowerCase()];
  const hits: string[] = [];
  for (const file of await filesUnder(ts.dataDir).catch(() => [])) {
    const content = await readFile(file);
    for (const n of needles) if (content.includes(n)) hits.push(`${file} contains ${n}`);
  }
  const logText = ts.logs.join("");
  assert.ok(logText.length > 0, "the server logged something to search");
  for (const n of needles) if (logText.includes(n)) hits.push(`logs contain ${n}`);
  assert.deepEqual(hits, []);
});

// RELAY-5: the same search with MLS-encrypted messages from the real SDK and a member's device
// offline. With the offline queue off nothing of the message reaches the disk; with it on, the
// ciphertext does (in the queue, as bytes), the plaintext still never.

function sdk(ts: TestServer, store = new MemoryStore()): ParleyClient {
  return new ParleyClient({
    baseUrl: ts.url,
    fetch: trustedFetch({ ca: ts.ca }),
    WebSocket: pinnedWebSocket(ts.ca),
    store,
    backoff: { baseMs: 100, maxMs: 1000 },
    syncTimeoutMs: 5000,
  });
}

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(25);
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

/** Every value of every table of the SQLite database, as bytes (blobs as they are). */
function tableBytes(file: string): Map<string, Buffer> {
  const db = new Database(file, { readonly: true });
  try {
    const out = new Map<string, Buffer>();
    const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as {
      name: string;
    }[];
    for (const { name } of tables) {
      const parts: Buffer[] = [];
      for (const row of db.prepare(`select * from "${name}"`).all() as Record<string, unknown>[]) {
        for (const v of Object.values(row)) {
          parts.push(Buffer.isBuffer(v) ? v : Buffer.from(String(v)));
        }
      }
      out.set(name, Buffer.concat(parts));
    }
    return out;
  } finally {
    db.close();
  }
}

for (const queue of ["off", "on"] as const) {
  test(`with the offline queue ${queue}, an encrypted message for an offline device leaves ${queue === "on" ? "only its ciphertext" : "nothing"} in the database`, async () => {
    const canary = `CANARY-${randomBytes(12).toString("hex")}`;
    const ts = await startTestServer({ logLevel: "trace", offlineQueue: queue });
    const aliceName = uniqueName("alice");
    const alice = sdk(ts);
    const bobStore = new MemoryStore();
    let bob = sdk(ts, bobStore);
    let tap: TestSocket | undefined;
    try {
      await alice.register(aliceName, STRONG_PASSWORD);
      await alice.connect();
      const bobUser = await bob.register(uniqueName("bob"), STRONG_PASSWORD);
      await bob.connect();
      const room = await alice.createRoom("canary", { isPublic: false });
      await alice.invite(room.id, bobUser.id);
      await bob.join(room.id);
      await until(async () => {
        const [a, b] = [await alice.epoch(room.id), await bob.epoch(room.id)];
        return a !== undefined && a === b;
      }, "both in the group");
      const bobDevice = { userId: asUserId(bobUser.id), deviceId: bob.deviceId ?? "" };
      await bob.close();
      await until(
        () => !ts.server.gateway.hasLocalDevice(bobDevice.userId, bobDevice.deviceId),
        "bob is offline",
      );

      // A second, device-less connection of alice's sees the ciphertext the relay passes on.
      const session = await login(ts, aliceName);
      assert.equal(session.status, 200);
      tap = await TestSocket.authed(ts, session.body.accessToken);
      await alice.send(room.id, canary);
      const ciphertext = Buffer.from((await tap.next("message")).payload, "base64");
      assert.ok(!ciphertext.includes(canary), "the relayed payload is encrypted");
      assert.equal(await ts.server.storage.offlineQueue.count(bobDevice), queue === "on" ? 1 : 0);

      const hits: string[] = [];
      const needles = [Buffer.from(canary), Buffer.from(Buffer.from(canary).toString("base64"))];
      let ciphertextOnDisk = false;
      for (const file of await filesUnder(ts.dataDir)) {
        const content = await readFile(file);
        for (const n of needles) if (content.includes(n)) hits.push(`${file} contains ${n}`);
        if (content.includes(ciphertext)) ciphertextOnDisk = true;
      }
      const tables = tableBytes(join(ts.dataDir, "parley.db"));
      assert.ok(tables.has("offline_queue"), "the search covers the queue table");
      for (const [table, bytes] of tables) {
        for (const n of needles) if (bytes.includes(n)) hits.push(`table ${table} contains ${n}`);
      }
      assert.equal(tables.get("offline_queue")?.includes(ciphertext) ?? false, queue === "on");
      assert.equal(ciphertextOnDisk, queue === "on", "the ciphertext is on disk exactly when queued");
      for (const n of needles) if (ts.logs.join("").includes(n.toString())) hits.push(`logs contain ${n}`);
      assert.deepEqual(hits, []);

      // What was queued is the real message: bob's device reads it when it comes back.
      bob = sdk(ts, bobStore);
      const got: MessageEvent[] = [];
      bob.on("message", (m) => got.push(m));
      assert.equal(await bob.resume(), true);
      await bob.connect();
      if (queue === "on")
        await until(() => got.some((m) => m.text === canary), "bob reads the queued canary");
      else assert.equal(await ts.server.storage.offlineQueue.count(bobDevice), 0);
    } finally {
      tap?.close();
      await Promise.all([alice.close(), bob.close()]);
      await ts.stop();
    }
  });
}
