// Rooms a team manages itself (issue 18), over real WSS with a real SQLite store: privacy by
// default, the directory, member caps, join passphrases and their throttle, moderators,
// settings events, invitations one can decline (ROOM-2, ROOM-11, ROOM-14 to ROOM-18).
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ServerFrame, ServerFrameOf } from "@parley/protocol";
import { registerUser, startTestServer, type TestServer } from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

function expectType<T extends ServerFrame["type"]>(frame: ServerFrame, type: T): ServerFrameOf<T> {
  assert.equal(frame.type, type, `expected ${type}, got ${JSON.stringify(frame)}`);
  return frame as ServerFrameOf<T>;
}

const errorCode = (frame: ServerFrame) => expectType(frame, "error").code;

async function user(ts: TestServer) {
  const session = await registerUser(ts);
  const socket = await TestSocket.authed(ts, session.accessToken);
  return { socket, id: session.user.id, name: session.user.username };
}

const roomEvent = (event: string, userId?: string) => (f: ServerFrame) =>
  f.type === "room.event" && f.event === event && (userId === undefined || f.userId === userId);

describe("room privacy, directory, caps, passphrases and moderators", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      frameRate: 1000,
      frameBurst: 1000,
      bruteForceMaxFailures: 3,
      bruteForceWindowS: 300,
      bruteForceBlockS: 300,
    });
  });
  after(() => ts.stop());

  test("a new room is private: its id alone lets nobody in, and the directory does not list it", async () => {
    const alice = await user(ts);
    const mallory = await user(ts);
    const created = expectType(await alice.socket.call({ type: "room.create", name: "war room" }), "room");
    assert.equal(created.room.isPublic, false);
    assert.equal(
      errorCode(await mallory.socket.call({ type: "room.join", roomId: created.room.id })),
      "not_invited",
    );
    const listed = expectType(await mallory.socket.call({ type: "room.discover", query: "war" }), "rooms");
    assert.deepEqual(listed.rooms, []);
    assert.equal(
      errorCode(await mallory.socket.call({ type: "room.members", roomId: created.room.id })),
      "not_a_member",
    );
  });

  test("a public room is found in the directory with its member count and topic", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const name = `lobby-${alice.name}`;
    const created = expectType(
      await alice.socket.call({ type: "room.create", name, topic: "say hi", isPublic: true }),
      "room",
    );
    expectType(await bob.socket.call({ type: "room.join", roomId: created.room.id }), "room");
    const page = expectType(await bob.socket.call({ type: "room.discover", query: name }), "rooms");
    assert.deepEqual(
      page.rooms.map((r) => [r.id, r.name, r.topic, r.memberCount]),
      [[created.room.id, name, "say hi", 2]],
    );
  });

  test("the member cap refuses the member after it, invited or not", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const carol = await user(ts);
    const created = expectType(
      await alice.socket.call({ type: "room.create", name: "pair", isPublic: true, maxMembers: 2 }),
      "room",
    );
    assert.equal(created.room.maxMembers, 2);
    const roomId = created.room.id;
    expectType(await bob.socket.call({ type: "room.join", roomId }), "room");
    const full = expectType(await carol.socket.call({ type: "room.join", roomId }), "error");
    assert.equal(full.code, "room_full");
    assert.match(full.message, /as many members as its owner allows/);
    assert.equal(
      errorCode(await alice.socket.call({ type: "room.invite", roomId, userId: carol.id })),
      "room_full",
    );
    // The owner raises it: Carol gets in.
    expectType(await alice.socket.call({ type: "room.update", roomId, maxMembers: 3 }), "room");
    expectType(await carol.socket.call({ type: "room.join", roomId }), "room");
    assert.equal(
      errorCode(await alice.socket.call({ type: "room.create", name: "x", maxMembers: 1 })),
      "validation_failed",
    );
  });

  test("a passphrase is required, checked against a slow hash only, and guessing is throttled", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const eve = await user(ts);
    const passphrase = "correct horse battery";
    const created = expectType(
      await alice.socket.call({ type: "room.create", name: "club", isPublic: true, passphrase }),
      "room",
    );
    assert.equal(created.room.hasPassphrase, true);
    const roomId = created.room.id;
    assert.equal(errorCode(await bob.socket.call({ type: "room.join", roomId })), "passphrase_required");
    assert.equal(
      errorCode(await bob.socket.call({ type: "room.join", roomId, passphrase: "wrong horse" })),
      "wrong_passphrase",
    );
    expectType(await bob.socket.call({ type: "room.join", roomId, passphrase }), "room");

    for (let i = 0; i < 3; i++) {
      assert.equal(
        errorCode(await eve.socket.call({ type: "room.join", roomId, passphrase: `guess ${i}` })),
        "wrong_passphrase",
      );
    }
    const blocked = expectType(await eve.socket.call({ type: "room.join", roomId, passphrase }), "error");
    assert.equal(blocked.code, "passphrase_throttled", "even the right one waits once blocked");
    assert.ok((blocked.retryAfterMs ?? 0) > 0);

    // The passphrase itself is in no file of the data dir.
    const files = await readdir(ts.dataDir, { recursive: true });
    for (const f of files) {
      const content = await readFile(join(ts.dataDir, f)).catch(() => Buffer.alloc(0));
      assert.ok(!content.includes(passphrase), `${f} holds the passphrase`);
    }
  });

  test("moderators invite to a private room and remove members; settings changes reach every member", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const carol = await user(ts);
    const roomId = expectType(await alice.socket.call({ type: "room.create", name: "ops" }), "room").room.id;
    expectType(await alice.socket.call({ type: "room.invite", roomId, userId: bob.id }), "ok");
    expectType(await bob.socket.call({ type: "room.join", roomId }), "room");
    assert.equal(
      errorCode(await bob.socket.call({ type: "room.invite", roomId, userId: carol.id })),
      "not_room_moderator",
    );
    expectType(
      await alice.socket.call({ type: "room.role", roomId, userId: bob.id, role: "moderator" }),
      "ok",
    );
    const role = await bob.socket.waitFor(roomEvent("role", bob.id));
    assert.equal(role.type === "room.event" && role.by?.username, alice.name);
    const invitedToAlice = alice.socket.waitFor(roomEvent("invited", carol.id));
    expectType(await bob.socket.call({ type: "room.invite", roomId, userId: carol.id }), "ok");
    const invited = await invitedToAlice;
    assert.equal(invited.type === "room.event" && invited.by?.username, bob.name, "the inviter is named");
    expectType(await carol.socket.call({ type: "room.join", roomId }), "room");

    const updated = carol.socket.waitFor(roomEvent("updated"));
    const renamed = expectType(
      await bob.socket.call({ type: "room.update", roomId, name: "incident", topic: "db down" }),
      "room",
    );
    assert.equal(renamed.room.name, "incident");
    const event = await updated;
    assert.ok(event.type === "room.event");
    assert.deepEqual(
      [event.username, event.changes, event.room?.name],
      [bob.name, ["name", "topic"], "incident"],
    );
    assert.equal(
      errorCode(await bob.socket.call({ type: "room.update", roomId, isPublic: true })),
      "not_room_owner",
    );

    const removed = carol.socket.waitFor(roomEvent("removed", carol.id));
    expectType(await bob.socket.call({ type: "room.remove", roomId, userId: carol.id }), "ok");
    const gone = await removed;
    assert.equal(gone.type === "room.event" && gone.by?.username, bob.name);
    assert.equal(
      errorCode(await bob.socket.call({ type: "room.remove", roomId, userId: alice.id })),
      "not_room_owner",
    );
    assert.equal(errorCode(await bob.socket.call({ type: "room.delete", roomId })), "not_room_owner");
    const deleted = bob.socket.waitFor(roomEvent("deleted", alice.id));
    expectType(await alice.socket.call({ type: "room.delete", roomId }), "ok");
    await deleted;
  });

  test("invitations are listed and can be declined, which the inviter hears", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const roomId = expectType(await alice.socket.call({ type: "room.create", name: "plans" }), "room").room
      .id;
    expectType(await alice.socket.call({ type: "room.invite", roomId, userId: bob.id }), "ok");
    const list = expectType(await bob.socket.call({ type: "room.invites" }), "invites");
    assert.deepEqual(
      list.invites.map((i) => [i.room.id, i.by.username]),
      [[roomId, alice.name]],
    );
    const declined = alice.socket.waitFor(roomEvent("declined", bob.id));
    expectType(await bob.socket.call({ type: "room.decline", roomId }), "ok");
    await declined;
    assert.deepEqual(expectType(await bob.socket.call({ type: "room.invites" }), "invites").invites, []);
    assert.equal(errorCode(await bob.socket.call({ type: "room.join", roomId })), "not_invited");
    assert.equal(errorCode(await bob.socket.call({ type: "room.decline", roomId })), "not_invited");
  });

  test("malformed settings are refused with validation_failed and the server goes on", async () => {
    const alice = await user(ts);
    const roomId = expectType(await alice.socket.call({ type: "room.create", name: "strict" }), "room").room
      .id;
    for (const bad of [
      { type: "room.update", roomId, maxMembers: 0 },
      { type: "room.update", roomId, passphrase: "abc" },
      { type: "room.update", roomId, isPublic: "yes" },
      { type: "room.role", roomId, userId: alice.id, role: "owner" },
      { type: "room.join", roomId, passphrase: "" },
    ]) {
      assert.equal(errorCode(await alice.socket.call(bad)), "validation_failed", JSON.stringify(bad));
    }
    expectType(await alice.socket.call({ type: "room.update", roomId, topic: "fine" }), "room");
  });
});
