import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { canonicalRoomId, isRoomId, type ServerFrame, type ServerFrameOf } from "@parley/protocol";
import { registerUser, startTestServer, type TestServer } from "./support/harness.js";
import { presenceOf, TestSocket } from "./support/ws-client.js";

const payload = (text: string) => Buffer.from(text).toString("base64");

function expectType<T extends ServerFrame["type"]>(frame: ServerFrame, type: T): ServerFrameOf<T> {
  assert.equal(frame.type, type, `expected ${type}, got ${JSON.stringify(frame)}`);
  return frame as ServerFrameOf<T>;
}

/**
 * Every frame `socket` has received and not consumed, once the presence changes made so far
 * have gone out: they leave in order, in windows (PRES-1), so a new user's arrival, once seen,
 * comes after all of them. settle() alone cannot tell, as presence may wait for its window.
 */
async function presenceSettled(ts: TestServer, socket: TestSocket): Promise<ServerFrame[]> {
  const marker = await registerUser(ts);
  const other = await TestSocket.authed(ts, marker.accessToken);
  const seen = await socket.waitFor(
    (f) => presenceOf(f, marker.user.id)?.online === true,
    10_000,
    "the marker",
  );
  other.close();
  // The marker's frame too: a batch may carry other users' changes beside it.
  return [seen, ...socket.frames];
}

async function user(ts: TestServer) {
  const session = await registerUser(ts);
  const socket = await TestSocket.authed(ts, session.accessToken);
  return { session, socket, id: session.user.id, name: session.user.username };
}

describe("rooms, relay, presence and subscriptions", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ frameRate: 1000, frameBurst: 1000 });
  });
  after(() => ts.stop());

  test("two users create a room, join it and exchange payloads with ids, sender and server time", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const created = expectType(
      await alice.socket.call({ type: "room.create", name: "ops", topic: "on call", isPublic: true }),
      "room",
    );
    assert.ok(
      isRoomId(created.room.id) && created.room.id === canonicalRoomId(created.room.id),
      created.room.id,
    );
    assert.equal(created.room.ownerId, alice.id);
    assert.deepEqual(
      created.members.map((m) => [m.userId, m.role]),
      [[alice.id, "owner"]],
    );

    const joined = expectType(
      await bob.socket.call({ type: "room.join", roomId: created.room.id.toLowerCase() }),
      "room",
    );
    assert.equal(joined.room.id, created.room.id);
    const event = await alice.socket.next("room.event");
    assert.deepEqual([event.event, event.userId], ["joined", bob.id]);

    const before = Date.now();
    const ack = expectType(
      await alice.socket.call({
        type: "message.send",
        to: { room: created.room.id },
        payload: payload("hi bob"),
      }),
      "ack",
    );
    const got = await bob.socket.next("message");
    assert.equal(got.id, ack.id);
    assert.equal(got.ts, ack.ts);
    assert.ok(got.ts >= before - 1000);
    assert.deepEqual(got.from, { id: alice.id, username: alice.name });
    assert.equal(got.room, created.room.id);
    assert.equal(Buffer.from(got.payload, "base64").toString(), "hi bob");

    await bob.socket.call({
      type: "message.send",
      to: { room: created.room.id },
      payload: payload("hi alice"),
    });
    const back = await alice.socket.next("message");
    assert.equal(Buffer.from(back.payload, "base64").toString(), "hi alice");
    // The sender's own connection does not get an echo of its message.
    assert.ok(!(await bob.socket.settle()).some((f) => f.type === "message"));
    alice.socket.close();
    bob.socket.close();
  });

  test("a non-member can neither post to nor receive from a room", async () => {
    const alice = await user(ts);
    const mallory = await user(ts);
    const room = expectType(
      await alice.socket.call({ type: "room.create", name: "secret", isPublic: false }),
      "room",
    );
    const refused = expectType(
      await mallory.socket.call({ type: "message.send", to: { room: room.room.id }, payload: payload("x") }),
      "error",
    );
    assert.equal(refused.code, "not_a_member");
    await alice.socket.call({
      type: "message.send",
      to: { room: room.room.id },
      payload: payload("members only"),
    });
    assert.ok(!(await mallory.socket.settle()).some((f) => f.type === "message"));
    const join = expectType(await mallory.socket.call({ type: "room.join", roomId: room.room.id }), "error");
    assert.equal(join.code, "not_invited");
    const members = expectType(
      await mallory.socket.call({ type: "room.members", roomId: room.room.id }),
      "error",
    );
    assert.equal(members.code, "not_a_member");
    alice.socket.close();
    mallory.socket.close();
  });

  test("an invitation lets a user join a private room and tells them about it", async () => {
    const alice = await user(ts);
    const carol = await user(ts);
    const room = expectType(
      await alice.socket.call({ type: "room.create", name: "private", isPublic: false }),
      "room",
    );
    expectType(
      await alice.socket.call({ type: "room.invite", roomId: room.room.id, userId: carol.id }),
      "ok",
    );
    const invited = await carol.socket.next("invited");
    assert.equal(invited.room.id, room.room.id);
    assert.equal(invited.by.id, alice.id);
    const joined = expectType(await carol.socket.call({ type: "room.join", roomId: room.room.id }), "room");
    assert.deepEqual(joined.members.map((m) => m.userId).sort(), [alice.id, carol.id].sort());
    const unknown = expectType(
      await alice.socket.call({ type: "room.invite", roomId: room.room.id, userId: "no-such-user" }),
      "error",
    );
    assert.equal(unknown.code, "user_not_found");
    alice.socket.close();
    carol.socket.close();
  });

  test("lists my rooms, public rooms and members with online status", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const pub = expectType(
      await alice.socket.call({ type: "room.create", name: "lobby", isPublic: true }),
      "room",
    );
    const priv = expectType(
      await alice.socket.call({ type: "room.create", name: "hidden", isPublic: false }),
      "room",
    );
    await bob.socket.call({ type: "room.join", roomId: pub.room.id });
    const mine = expectType(await alice.socket.call({ type: "room.list" }), "rooms");
    assert.ok(mine.rooms.some((r) => r.id === pub.room.id) && mine.rooms.some((r) => r.id === priv.room.id));
    const discover = expectType(await bob.socket.call({ type: "room.discover" }), "rooms");
    assert.ok(discover.rooms.some((r) => r.id === pub.room.id));
    assert.ok(!discover.rooms.some((r) => r.id === priv.room.id));
    const members = expectType(
      await alice.socket.call({ type: "room.members", roomId: pub.room.id }),
      "members",
    );
    assert.deepEqual(
      members.members.map((m) => [m.userId, m.online]).sort(),
      [
        [alice.id, true],
        [bob.id, true],
      ].sort(),
    );
    bob.socket.close();
    await alice.socket.waitFor((f) => presenceOf(f, bob.id)?.online === false);
    const after = expectType(
      await alice.socket.call({ type: "room.members", roomId: pub.room.id }),
      "members",
    );
    assert.equal(after.members.find((m) => m.userId === bob.id)?.online, false);
    alice.socket.close();
  });

  test("the owner removes a member, who stops receiving at once; others cannot remove", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const carol = await user(ts);
    const room = expectType(
      await alice.socket.call({ type: "room.create", name: "team", isPublic: true }),
      "room",
    );
    await bob.socket.call({ type: "room.join", roomId: room.room.id });
    await carol.socket.call({ type: "room.join", roomId: room.room.id });
    const notOwner = expectType(
      await bob.socket.call({ type: "room.remove", roomId: room.room.id, userId: carol.id }),
      "error",
    );
    assert.equal(notOwner.code, "not_room_moderator");
    expectType(await alice.socket.call({ type: "room.remove", roomId: room.room.id, userId: bob.id }), "ok");
    const removed = await bob.socket.waitFor((f) => f.type === "room.event" && f.event === "removed");
    assert.equal(removed.type === "room.event" && removed.userId, bob.id);
    bob.socket.frames.length = 0;
    await alice.socket.call({
      type: "message.send",
      to: { room: room.room.id },
      payload: payload("after removal"),
    });
    await carol.socket.next("message");
    assert.ok(!(await bob.socket.settle()).some((f) => f.type === "message"));
    const post = expectType(
      await bob.socket.call({ type: "message.send", to: { room: room.room.id }, payload: payload("x") }),
      "error",
    );
    assert.equal(post.code, "not_a_member");
    for (const u of [alice, bob, carol]) u.socket.close();
  });

  test("leaving a room stops delivery; the owner leaving hands the room on; the last one out deletes it", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const room = expectType(
      await alice.socket.call({ type: "room.create", name: "temp", isPublic: true }),
      "room",
    );
    await bob.socket.call({ type: "room.join", roomId: room.room.id });
    expectType(await alice.socket.call({ type: "room.leave", roomId: room.room.id }), "ok");
    const left = await bob.socket.waitFor((f) => f.type === "room.event" && f.event === "left");
    assert.equal(left.type === "room.event" && left.userId, alice.id);
    const members = expectType(
      await bob.socket.call({ type: "room.members", roomId: room.room.id }),
      "members",
    );
    assert.deepEqual(
      members.members.map((m) => [m.userId, m.role]),
      [[bob.id, "owner"]],
    );
    await bob.socket.call({ type: "message.send", to: { room: room.room.id }, payload: payload("alone") });
    assert.ok(!(await alice.socket.settle()).some((f) => f.type === "message"));
    expectType(await bob.socket.call({ type: "room.leave", roomId: room.room.id }), "ok");
    const gone = expectType(await bob.socket.call({ type: "room.join", roomId: room.room.id }), "error");
    assert.equal(gone.code, "room_not_found");
    alice.socket.close();
    bob.socket.close();
  });

  test("a direct conversation is one shared room for the pair, from either side", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const dm = expectType(await alice.socket.call({ type: "direct.open", userId: bob.id }), "room");
    assert.equal(dm.room.kind, "direct");
    const pushed = await bob.socket.next("room");
    assert.equal(pushed.room.id, dm.room.id);
    const again = expectType(await bob.socket.call({ type: "direct.open", userId: alice.id }), "room");
    assert.equal(again.room.id, dm.room.id);
    await alice.socket.call({ type: "message.send", to: { room: dm.room.id }, payload: payload("dm") });
    assert.equal((await bob.socket.next("message")).room, dm.room.id);
    const self = expectType(await alice.socket.call({ type: "direct.open", userId: alice.id }), "error");
    assert.equal(self.code, "invalid_target");
    const join = expectType(
      await (await user(ts)).socket.call({ type: "room.join", roomId: dm.room.id }),
      "error",
    );
    assert.equal(join.code, "not_invited");
    alice.socket.close();
    bob.socket.close();
  });

  test("a payload to a user reaches all their devices and the sender's other devices", async () => {
    const alice = await user(ts);
    const aliceLaptop = await TestSocket.authed(ts, alice.session.accessToken);
    const bob = await user(ts);
    const bobPhone = await TestSocket.authed(ts, bob.session.accessToken);
    await alice.socket.call({ type: "message.send", to: { user: bob.id }, payload: payload("to bob") });
    for (const s of [bob.socket, bobPhone, aliceLaptop]) {
      const m = await s.next("message");
      assert.equal(m.user, bob.id);
      assert.equal(m.from.id, alice.id);
    }
    const missing = expectType(
      await alice.socket.call({ type: "message.send", to: { user: "nobody" }, payload: payload("x") }),
      "error",
    );
    assert.equal(missing.code, "user_not_found");
    for (const s of [alice.socket, aliceLaptop, bob.socket, bobPhone]) s.close();
  });

  test("typing indicators reach the other members only", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const room = expectType(
      await alice.socket.call({ type: "room.create", name: "typing", isPublic: true }),
      "room",
    );
    await bob.socket.call({ type: "room.join", roomId: room.room.id });
    alice.socket.send({ type: "typing", roomId: room.room.id, active: true });
    const typing = await bob.socket.next("typing.event");
    assert.deepEqual([typing.userId, typing.active, typing.roomId], [alice.id, true, room.room.id]);
    assert.ok(!(await alice.socket.settle()).some((f) => f.type === "typing.event"));
    alice.socket.close();
    bob.socket.close();
  });

  test("presence: others see a user come online and go offline", async () => {
    const alice = await user(ts);
    const bobSession = await registerUser(ts);
    const bob = await TestSocket.authed(ts, bobSession.accessToken);
    const online = await alice.socket.waitFor((f) => presenceOf(f, bobSession.user.id) !== undefined);
    assert.equal(presenceOf(online, bobSession.user.id)?.online, true);
    // A second device does not announce again; closing one of two keeps the user online.
    const bob2 = await TestSocket.authed(ts, bobSession.accessToken);
    bob2.close();
    await bob2.closed;
    let frames = await presenceSettled(ts, alice.socket);
    assert.ok(!frames.some((f) => presenceOf(f, bobSession.user.id) !== undefined));
    bob.close();
    const offline = await alice.socket.waitFor((f) => presenceOf(f, bobSession.user.id) !== undefined);
    assert.equal(presenceOf(offline, bobSession.user.id)?.online, false);
    frames = await presenceSettled(ts, alice.socket);
    assert.equal(frames.filter((f) => presenceOf(f, bobSession.user.id) !== undefined).length, 0);
    alice.socket.close();
  });

  test("presence: a burst of users coming online is announced once per user", async () => {
    const alice = await user(ts);
    const sessions = await Promise.all(Array.from({ length: 6 }, () => registerUser(ts)));
    const ids = sessions.map((s) => s.user.id);
    const sockets = await Promise.all(sessions.map((s) => TestSocket.authed(ts, s.accessToken)));
    // One frame may announce several of them (presence.batch); each frame is taken once.
    const announced: string[] = [];
    while (!ids.every((id) => announced.includes(id))) {
      const f = await alice.socket.waitFor((x) => ids.some((id) => presenceOf(x, id) !== undefined));
      for (const id of ids) {
        const p = presenceOf(f, id);
        if (p === undefined) continue;
        assert.equal(p.online, true);
        announced.push(id);
      }
    }
    assert.deepEqual([...announced].sort(), [...ids].sort(), "each announced once");
    const frames = await presenceSettled(ts, alice.socket);
    for (const id of ids) {
      assert.equal(frames.filter((f) => presenceOf(f, id) !== undefined).length, 0, `${id} announced twice`);
    }
    for (const s of sockets) s.close();
    alice.socket.close();
  });

  test("a subscriber receives a followed user's posts in public rooms only, until unsubscribing", async () => {
    const alice = await user(ts);
    const follower = await user(ts);
    const pub = expectType(
      await alice.socket.call({ type: "room.create", name: "announcements", isPublic: true }),
      "room",
    );
    const priv = expectType(
      await alice.socket.call({ type: "room.create", name: "private", isPublic: false }),
      "room",
    );
    expectType(await follower.socket.call({ type: "subscribe", userId: alice.id }), "ok");
    const list = expectType(await follower.socket.call({ type: "subscriptions.list" }), "subscriptions");
    assert.deepEqual(list.users, [{ id: alice.id, username: alice.name }]);

    await alice.socket.call({
      type: "message.send",
      to: { room: pub.room.id },
      payload: payload("public news"),
    });
    const got = await follower.socket.next("message");
    assert.equal(got.via, "subscription");
    assert.equal(got.room, pub.room.id);
    await alice.socket.call({
      type: "message.send",
      to: { room: priv.room.id },
      payload: payload("private"),
    });
    assert.ok(!(await follower.socket.settle()).some((f) => f.type === "message"));

    expectType(await follower.socket.call({ type: "unsubscribe", userId: alice.id }), "ok");
    await alice.socket.call({
      type: "message.send",
      to: { room: pub.room.id },
      payload: payload("more news"),
    });
    assert.ok(!(await follower.socket.settle()).some((f) => f.type === "message"));
    const self = expectType(await alice.socket.call({ type: "subscribe", userId: alice.id }), "error");
    assert.equal(self.code, "invalid_target");
    alice.socket.close();
    follower.socket.close();
  });

  test("one member's bad frames do not disturb the others' conversation", async () => {
    const alice = await user(ts);
    const bob = await user(ts);
    const troll = await user(ts);
    const room = expectType(
      await alice.socket.call({ type: "room.create", name: "calm", isPublic: true }),
      "room",
    );
    await bob.socket.call({ type: "room.join", roomId: room.room.id });
    await troll.socket.call({ type: "room.join", roomId: room.room.id });
    for (let i = 0; i < 20; i++) troll.socket.send("{broken");
    await troll.socket.closed;
    await alice.socket.call({
      type: "message.send",
      to: { room: room.room.id },
      payload: payload("still here"),
    });
    assert.equal(Buffer.from((await bob.socket.next("message")).payload, "base64").toString(), "still here");
    alice.socket.close();
    bob.socket.close();
  });
});
