import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { registerUser, request, STRONG_PASSWORD, startTestServer } from "./support/harness.js";
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
    const room = await a.call({ type: "room.create", name: "canary-room" });
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
