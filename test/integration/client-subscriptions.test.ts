import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isParleyClientError } from "@parley/client";
import { startTestServer, type TestServer } from "./support/harness.js";
import { nextEvent, type SdkUser, sdkSignUp } from "./support/sdk.js";

// ParleyClient.subscribe / unsubscribe / subscriptions against a real server (SUB-1).

let ts: TestServer;
let ann: SdkUser;
let ben: SdkUser;
let cat: SdkUser;

before(async () => {
  ts = await startTestServer();
  ann = await sdkSignUp(ts, "ann");
  ben = await sdkSignUp(ts, "ben");
  cat = await sdkSignUp(ts, "cat");
});

after(async () => {
  await Promise.all([ann?.client.close(), ben?.client.close(), cat?.client.close()]);
  await ts?.stop();
});

describe("ParleyClient following (SUB-1)", () => {
  it("lists a followed user once, even when followed twice, and forgets them on unsubscribe", async () => {
    assert.deepEqual(await ann.client.subscriptions(), []);
    await ann.client.subscribe(ben.id);
    await ann.client.subscribe(ben.id);
    assert.deepEqual(await ann.client.subscriptions(), [{ id: ben.id, username: ben.username }]);
    await ann.client.unsubscribe(ben.id);
    assert.deepEqual(await ann.client.subscriptions(), []);
  });

  it("answers unsubscribe from someone not followed without an error", async () => {
    await ben.client.unsubscribe(ann.id);
    assert.deepEqual(await ben.client.subscriptions(), []);
  });

  it("refuses following oneself (invalid_target) and an unknown user (user_not_found)", async () => {
    await assert.rejects(ann.client.subscribe(ann.id), (e) => isParleyClientError(e, "invalid_target"));
    await assert.rejects(ann.client.subscribe("no-such-user"), (e) =>
      isParleyClientError(e, "user_not_found"),
    );
  });
});

describe("following under end-to-end encryption (SUB-2)", () => {
  it("tells a follower who posted in which public room, and after joining they read what follows", async () => {
    await cat.client.subscribe(ben.id);
    const secret = await ben.client.createRoom("ben-private");
    const lobby = await ben.client.createRoom("ben-lobby", { isPublic: true });
    const lobbyTexts: string[] = [];
    const off = cat.client.on("message", (m) => {
      if (m.roomId === lobby.id) lobbyTexts.push(m.text ?? "");
    });
    const offered = nextEvent(cat.client, "followed_post");
    // A private room's post never reaches a follower (it would be the first offer); the public
    // one arrives as an offer, and its content stays unreadable to a non-member.
    await ben.client.send(secret.id, "private words");
    await ben.client.send(lobby.id, "before you came");
    const post = await offered;
    assert.equal(post.roomId, lobby.id);
    assert.deepEqual(post.from, { userId: ben.id, username: ben.username });

    await cat.client.join(lobby.id);
    const read = nextEvent(cat.client, "message", (m) => m.roomId === lobby.id);
    await ben.client.send(lobby.id, "welcome, follower");
    const m = await read;
    off();
    assert.equal(m.from.userId, ben.id);
    assert.equal(m.text, "welcome, follower");
    // Messages arrive in order: the one before joining would have come first; it never did.
    assert.deepEqual(lobbyTexts, ["welcome, follower"]);
  });

  it("stops offering a person's posts once unfollowed", async () => {
    const hall = await ben.client.createRoom("ben-hall", { isPublic: true });
    const yard = await ben.client.createRoom("ben-yard", { isPublic: true });
    await cat.client.unsubscribe(ben.id);
    const offered = nextEvent(cat.client, "followed_post");
    await ben.client.send(hall.id, "nobody follows this");
    // Following again, the next post is offered: the first offer names that room, not the hall.
    await cat.client.subscribe(ben.id);
    await ben.client.send(yard.id, "followed again");
    assert.equal((await offered).roomId, yard.id);
    await cat.client.unsubscribe(ben.id);
  });
});
