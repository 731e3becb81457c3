// Issue 18 parts 3 (bans), 4 (blocks) and 6 (sessions, account deletion), over real HTTPS/WSS
// with a real SQLite store: ACCT-1 to ACCT-6, ROOM-19, ROOM-20.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ParleyClient } from "@parley/client";
import type {
  AccountDeletedResponse,
  BlocksResponse,
  ServerFrame,
  ServerFrameOf,
  SessionResponse,
  SessionsResponse,
  SignOutResponse,
} from "@parley/protocol";
import Database from "better-sqlite3";
import { asUserId } from "../../packages/server/src/domain/ids.js";
import {
  login,
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
} from "./support/harness.js";
import { nextEvent, sdkSignUp } from "./support/sdk.js";
import { TestSocket } from "./support/ws-client.js";

function expectType<T extends ServerFrame["type"]>(frame: ServerFrame, type: T): ServerFrameOf<T> {
  assert.equal(frame.type, type, `expected ${type}, got ${JSON.stringify(frame)}`);
  return frame as ServerFrameOf<T>;
}

const errorCode = (frame: ServerFrame) => expectType(frame, "error").code;
const codeOf = (body: unknown) => (body as { code?: string }).code;

const roomEvent = (event: string, userId?: string) => (f: ServerFrame) =>
  f.type === "room.event" && f.event === event && (userId === undefined || f.userId === userId);

async function eventually(check: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

describe("account self-service, blocks and bans", () => {
  let ts: TestServer;
  let dataDir: string;
  let db: Database.Database;
  const sockets: TestSocket[] = [];
  const clients: ParleyClient[] = [];

  async function user() {
    const session = await registerUser(ts);
    const socket = await TestSocket.authed(ts, session.accessToken);
    sockets.push(socket);
    return { socket, session, id: session.user.id, name: session.user.username, token: session.accessToken };
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "parley-account-"));
    ts = await startTestServer({ frameRate: 1000, frameBurst: 1000, authRatePerMin: 1000 }, { dataDir });
    db = new Database(join(dataDir, "parley.db"), { readonly: true });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all(clients.map((c) => c.close()));
    db.close();
    await ts.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const count = (sql: string, ...args: string[]) => Number((db.prepare(sql).get(...args) as { n: number }).n);

  describe("sessions (ACCT-1, ACCT-2)", () => {
    test("lists every live session with its browser, address and times, and marks the current one", async () => {
      const alice = await user();
      const phone = await request<SessionResponse>(ts, "POST", "/api/login", {
        body: { username: alice.name, password: STRONG_PASSWORD },
        headers: { "user-agent": "Mozilla/5.0 (Android 14) Firefox/128.0" },
      });
      assert.equal(phone.status, 200);
      const listed = await request<SessionsResponse>(ts, "GET", "/api/sessions", {
        token: phone.body.accessToken,
      });
      assert.equal(listed.status, 200);
      const byId = new Map(listed.body.sessions.map((s) => [s.id, s]));
      assert.deepEqual([...byId.keys()].sort(), [alice.session.sessionId, phone.body.sessionId].sort());
      const current = byId.get(phone.body.sessionId);
      assert.equal(current?.current, true);
      assert.equal(current?.userAgent, "Mozilla/5.0 (Android 14) Firefox/128.0");
      assert.equal(current?.ip, "127.0.0.1");
      assert.ok((current?.lastSeenAt ?? 0) >= (current?.createdAt ?? Infinity));
      assert.equal(byId.get(alice.session.sessionId)?.current, false);
      // The socket of the first session bound its device-less connection: no device id.
      assert.equal(byId.get(alice.session.sessionId)?.deviceId, null);
    });

    test("ending another session stops its tokens at once and closes its socket with session_ended", async () => {
      const alice = await user();
      const laptop = await login(ts, alice.name);
      assert.equal(laptop.status, 200);
      const ended = await request(ts, "DELETE", `/api/sessions/${alice.session.sessionId}`, {
        token: laptop.body.accessToken,
      });
      assert.equal(ended.status, 204);
      const error = await alice.socket.next("error");
      assert.equal(error.code, "session_ended");
      assert.deepEqual((await alice.socket.closed).code, 1008);
      const me = await request(ts, "GET", "/api/me", { token: alice.token });
      assert.equal(me.status, 401);
      assert.equal(codeOf(me.body), "session_revoked");
      const refresh = await request(ts, "POST", "/api/token/refresh", {
        body: { refreshToken: alice.session.refreshToken },
      });
      assert.equal(codeOf(refresh.body), "refresh_token_invalid");
      // The session that ended it goes on, and the list no longer has the ended one.
      const listed = await request<SessionsResponse>(ts, "GET", "/api/sessions", {
        token: laptop.body.accessToken,
      });
      assert.deepEqual(
        listed.body.sessions.map((s) => s.id),
        [laptop.body.sessionId],
      );
      // AUDIT-1: recorded.
      assert.ok(
        count(
          "select count(*) as n from audit_log where kind = 'session_revoked' and user_id = ? and details like '%ended_by_user%'",
          alice.id,
        ) === 1,
      );
    });

    test("a session of someone else, an ended one or an unknown id is session_not_found", async () => {
      const alice = await user();
      const bob = await user();
      for (const id of [bob.session.sessionId, "no-such-session"]) {
        const res = await request(ts, "DELETE", `/api/sessions/${id}`, { token: alice.token });
        assert.equal(res.status, 404);
        assert.equal(codeOf(res.body), "session_not_found");
      }
      // Bob's session is untouched.
      assert.equal((await request(ts, "GET", "/api/me", { token: bob.token })).status, 200);
      const other = await login(ts, alice.name);
      await request(ts, "DELETE", `/api/sessions/${other.body.sessionId}`, { token: alice.token });
      const again = await request(ts, "DELETE", `/api/sessions/${other.body.sessionId}`, {
        token: alice.token,
      });
      assert.equal(codeOf(again.body), "session_not_found");
      const unauthenticated = await request(ts, "GET", "/api/sessions");
      assert.equal(unauthenticated.status, 401);
    });
  });

  describe("account deletion (ACCT-3 to ACCT-5)", () => {
    test("a wrong password deletes nothing", async () => {
      const alice = await user();
      const res = await request(ts, "DELETE", "/api/me", {
        token: alice.token,
        body: { password: "Wrong-Password-123!" },
      });
      assert.equal(res.status, 401);
      assert.equal(codeOf(res.body), "invalid_credentials");
      assert.equal((await request(ts, "GET", "/api/me", { token: alice.token })).status, 200);
      const missing = await request(ts, "DELETE", "/api/me", { token: alice.token, body: {} });
      assert.equal(codeOf(missing.body), "validation_failed");
    });

    test("removes the person from every room, hands their rooms on, deletes empty ones, and retires the name", async () => {
      const owner = await user();
      const mod = await user();
      const member = await user();
      const stranger = await user();
      // A room owned by `owner`, where `mod` (joined after `member`) is a moderator: the
      // moderator inherits it, not the longer-standing plain member.
      const room = expectType(
        await owner.socket.call({ type: "room.create", name: "ops", isPublic: true }),
        "room",
      ).room;
      expectType(await member.socket.call({ type: "room.join", roomId: room.id }), "room");
      expectType(await mod.socket.call({ type: "room.join", roomId: room.id }), "room");
      expectType(
        await owner.socket.call({ type: "room.role", roomId: room.id, userId: mod.id, role: "moderator" }),
        "ok",
      );
      const alone = expectType(await owner.socket.call({ type: "room.create", name: "solo" }), "room").room;
      const direct = expectType(
        await owner.socket.call({ type: "direct.open", userId: member.id }),
        "room",
      ).room;
      // A pending invitation out, and one in.
      const priv = expectType(await stranger.socket.call({ type: "room.create", name: "priv" }), "room").room;
      expectType(
        await stranger.socket.call({ type: "room.invite", roomId: priv.id, userId: owner.id }),
        "ok",
      );
      expectType(
        await owner.socket.call({ type: "room.invite", roomId: room.id, userId: stranger.id }),
        "ok",
      );

      const res = await request<AccountDeletedResponse>(ts, "DELETE", "/api/me", {
        token: owner.token,
        body: { password: STRONG_PASSWORD },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.deleted, {
        rooms: 3,
        emptyRoomsDeleted: 1,
        roomsHandedOver: 1,
        devices: 0,
        keyPackages: 0,
        sessions: 1,
        files: 0,
        invites: 2,
        identityKey: false,
      });
      // Its socket is closed with account_deleted; its token and name open nothing.
      assert.equal((await owner.socket.next("error")).code, "account_deleted");
      assert.equal((await owner.socket.closed).code, 1008);
      assert.equal((await request(ts, "GET", "/api/me", { token: owner.token })).status, 401);
      assert.equal(codeOf((await login(ts, owner.name)).body), "invalid_credentials");
      const reuse = await request(ts, "POST", "/api/register", {
        body: { username: owner.name.toUpperCase(), password: STRONG_PASSWORD },
      });
      assert.equal(reuse.status, 409);
      assert.equal(codeOf(reuse.body), "username_taken");

      // The members see the deletion and the new owner, in that order.
      for (const s of [mod.socket, member.socket]) {
        const gone = expectType(await s.waitFor(roomEvent("account_deleted", owner.id)), "room.event");
        assert.equal(gone.roomId, room.id);
        const heir = expectType(await s.waitFor(roomEvent("owner", mod.id)), "room.event");
        assert.equal(heir.username, mod.name);
      }
      expectType(await member.socket.waitFor(roomEvent("account_deleted", owner.id)), "room.event");
      const members = expectType(await mod.socket.call({ type: "room.members", roomId: room.id }), "members");
      assert.deepEqual(
        members.members.map((m) => [m.username, m.role]).sort(),
        [
          [member.name, "member"],
          [mod.name, "owner"],
        ].sort(),
      );
      // The empty room is gone; the direct conversation holds only the other person.
      assert.equal(count("select count(*) as n from rooms where id = ?", alone.id), 0);
      assert.equal(count("select count(*) as n from room_members where room_id = ?", direct.id), 1);
      assert.equal(
        count(
          "select count(*) as n from room_invites where user_id = ? or invited_by = ?",
          owner.id,
          owner.id,
        ),
        0,
      );
      assert.equal(count("select count(*) as n from sessions where user_id = ?", owner.id), 0);
      assert.equal(count("select count(*) as n from users where id = ?", owner.id), 0);
      // AUDIT-1.
      assert.equal(
        count("select count(*) as n from audit_log where kind = 'account_deleted' and user_id = ?", owner.id),
        1,
      );
    });

    test("deletes the devices, KeyPackages and identity key, and the remaining members take its leaves out of the group", async () => {
      const alice = await sdkSignUp(ts, "alice");
      const bob = await sdkSignUp(ts, "bob");
      clients.push(alice.client, bob.client);
      const room = await alice.client.createRoom("team", { isPublic: false });
      await alice.client.invite(room.id, bob.id);
      await bob.client.join(room.id);
      await eventually(
        () => count("select count(*) as n from mls_group_devices where user_id = ?", bob.id) === 1,
        "bob's device is in the group",
      );
      const before = await alice.client.epoch(room.id);
      // A second session, as the account page of a browser would have.
      const web = await login(ts, bob.username);
      const aliceSees = nextEvent(
        alice.client,
        "membership",
        (e) => e.source === "room" && e.event === "account_deleted",
      );
      const res = await request<AccountDeletedResponse>(ts, "DELETE", "/api/me", {
        token: web.body.accessToken,
        body: { password: STRONG_PASSWORD },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.deleted.devices, 1);
      assert.ok(res.body.deleted.keyPackages >= 1);
      assert.equal(res.body.deleted.identityKey, true);
      assert.equal(res.body.deleted.sessions, 2);
      await aliceSees;
      for (const table of ["devices", "key_packages", "identity_keys", "handshake_queue"]) {
        assert.equal(count(`select count(*) as n from ${table} where user_id = ?`, bob.id), 0, table);
      }
      // Alice's device commits the removal: the group moves on without bob's leaf.
      await eventually(
        () => count("select count(*) as n from mls_group_devices where user_id = ?", bob.id) === 0,
        "bob's leaf leaves the group",
      );
      await eventually(async () => ((await alice.client.epoch(room.id)) ?? 0) > (before ?? 0), "a new epoch");
    });

    test("an admin deletes an account and signs one out everywhere, audited; non-admins cannot", async () => {
      const admin = await user();
      await ts.server.storage.setUserAdmin(asUserId(admin.id), true);
      const bob = await user();
      const carol = await user();
      const second = await login(ts, carol.name);

      const denied = await request(ts, "DELETE", `/api/admin/users/${carol.id}`, { token: bob.token });
      assert.equal(codeOf(denied.body), "admin_required");
      const self = await request(ts, "DELETE", `/api/admin/users/${admin.id}`, { token: admin.token });
      assert.equal(codeOf(self.body), "invalid_target");
      const unknown = await request(ts, "POST", "/api/admin/users/nobody/sign-out", { token: admin.token });
      assert.equal(codeOf(unknown.body), "user_not_found");

      const out = await request<SignOutResponse>(ts, "POST", `/api/admin/users/${carol.id}/sign-out`, {
        token: admin.token,
      });
      assert.equal(out.status, 200);
      assert.equal(out.body.sessions, 2);
      assert.equal((await carol.socket.next("error")).code, "session_ended");
      assert.equal((await request(ts, "GET", "/api/me", { token: second.body.accessToken })).status, 401);
      // Signed out, not locked out.
      assert.equal((await login(ts, carol.name)).status, 200);

      expectType(await bob.socket.call({ type: "room.create", name: "r", isPublic: true }), "room");
      const res = await request<AccountDeletedResponse>(ts, "DELETE", `/api/admin/users/${bob.id}`, {
        token: admin.token,
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.deleted.rooms, 1);
      assert.equal((await request(ts, "GET", "/api/me", { token: bob.token })).status, 401);
      assert.equal(
        count(
          "select count(*) as n from audit_log where kind = 'account_deleted' and user_id = ? and actor_id = ?",
          bob.id,
          admin.id,
        ),
        1,
      );
      assert.equal(
        count(
          "select count(*) as n from audit_log where kind = 'session_revoked' and user_id = ? and actor_id = ?",
          carol.id,
          admin.id,
        ),
        1,
      );
      const gone = await request(ts, "DELETE", `/api/admin/users/${bob.id}`, { token: admin.token });
      assert.equal(codeOf(gone.body), "user_not_found");
    });
  });

  describe("blocking invitations (ACCT-6)", () => {
    test("a blocked person's invitations and direct conversations are refused, and the blocker hears nothing", async () => {
      const alice = await user();
      const bob = await user();
      const room = expectType(await alice.socket.call({ type: "room.create", name: "r" }), "room").room;
      const blocked = await request(ts, "PUT", `/api/blocks/${alice.id}`, { token: bob.token });
      assert.equal(blocked.status, 204);
      const list = await request<BlocksResponse>(ts, "GET", "/api/blocks", { token: bob.token });
      assert.deepEqual(
        list.body.blocked.map((b) => [b.id, b.username]),
        [[alice.id, alice.name]],
      );
      assert.equal(
        errorCode(await alice.socket.call({ type: "room.invite", roomId: room.id, userId: bob.id })),
        "invite_refused",
      );
      assert.equal(
        errorCode(await alice.socket.call({ type: "direct.open", userId: bob.id })),
        "invite_refused",
      );
      const seen = await bob.socket.settle();
      assert.ok(!seen.some((f) => f.type === "invited" || f.type === "room"), JSON.stringify(seen));
      expectType(await bob.socket.call({ type: "room.invites" }), "invites").invites.length === 0 ||
        assert.fail("an invitation got through");

      assert.equal(
        (await request(ts, "DELETE", `/api/blocks/${alice.id}`, { token: bob.token })).status,
        204,
      );
      expectType(await alice.socket.call({ type: "room.invite", roomId: room.id, userId: bob.id }), "ok");
      expectType(await bob.socket.next("invited"), "invited");
    });

    test("blocking drops the person's invitations already waiting, without telling them", async () => {
      const alice = await user();
      const bob = await user();
      const room = expectType(await alice.socket.call({ type: "room.create", name: "early" }), "room").room;
      expectType(await alice.socket.call({ type: "room.invite", roomId: room.id, userId: bob.id }), "ok");
      assert.equal(expectType(await bob.socket.call({ type: "room.invites" }), "invites").invites.length, 1);
      await request(ts, "PUT", `/api/blocks/${alice.id}`, { token: bob.token });
      assert.deepEqual(expectType(await bob.socket.call({ type: "room.invites" }), "invites").invites, []);
      assert.equal(errorCode(await bob.socket.call({ type: "room.join", roomId: room.id })), "not_invited");
      const seen = await alice.socket.settle();
      assert.ok(!seen.some((f) => f.type === "room.event" && f.event === "declined"), JSON.stringify(seen));
    });

    test("oneself and unknown users cannot be blocked; blocking twice is one block", async () => {
      const alice = await user();
      const bob = await user();
      assert.equal(
        codeOf((await request(ts, "PUT", `/api/blocks/${alice.id}`, { token: alice.token })).body),
        "invalid_target",
      );
      assert.equal(
        codeOf((await request(ts, "PUT", "/api/blocks/nobody", { token: alice.token })).body),
        "user_not_found",
      );
      await request(ts, "PUT", `/api/blocks/${bob.id}`, { token: alice.token });
      await request(ts, "PUT", `/api/blocks/${bob.id}`, { token: alice.token });
      const list = await request<BlocksResponse>(ts, "GET", "/api/blocks", { token: alice.token });
      assert.equal(list.body.blocked.length, 1);
    });
  });

  describe("bans (ROOM-19)", () => {
    test("a moderator bans a member: removed, cannot rejoin or be invited until unbanned", async () => {
      const owner = await user();
      const mod = await user();
      const bob = await user();
      const carol = await user();
      const room = expectType(
        await owner.socket.call({ type: "room.create", name: "open", isPublic: true }),
        "room",
      ).room;
      for (const u of [mod, bob, carol])
        expectType(await u.socket.call({ type: "room.join", roomId: room.id }), "room");
      expectType(
        await owner.socket.call({ type: "room.role", roomId: room.id, userId: mod.id, role: "moderator" }),
        "ok",
      );

      assert.equal(
        errorCode(await carol.socket.call({ type: "room.ban", roomId: room.id, userId: bob.id })),
        "not_room_moderator",
      );
      assert.equal(
        errorCode(await mod.socket.call({ type: "room.ban", roomId: room.id, userId: owner.id })),
        "not_room_owner",
      );
      expectType(await mod.socket.call({ type: "room.ban", roomId: room.id, userId: bob.id }), "ok");
      const told = expectType(await bob.socket.waitFor(roomEvent("banned", bob.id)), "room.event");
      assert.equal(told.by?.id, mod.id);
      expectType(await carol.socket.waitFor(roomEvent("banned", bob.id)), "room.event");
      assert.equal(
        errorCode(await bob.socket.call({ type: "room.join", roomId: room.id })),
        "banned_from_room",
      );
      assert.equal(
        errorCode(await owner.socket.call({ type: "room.invite", roomId: room.id, userId: bob.id })),
        "banned_from_room",
      );
      assert.equal(
        errorCode(await carol.socket.call({ type: "room.bans", roomId: room.id })),
        "not_room_moderator",
      );
      const bans = expectType(await owner.socket.call({ type: "room.bans", roomId: room.id }), "bans");
      assert.deepEqual(
        bans.bans.map((b) => [b.user.username, b.by?.username]),
        [[bob.name, mod.name]],
      );

      expectType(await mod.socket.call({ type: "room.unban", roomId: room.id, userId: bob.id }), "ok");
      expectType(await carol.socket.waitFor(roomEvent("unbanned", bob.id)), "room.event");
      expectType(await bob.socket.call({ type: "room.join", roomId: room.id }), "room");
      assert.deepEqual(
        expectType(await owner.socket.call({ type: "room.bans", roomId: room.id }), "bans").bans,
        [],
      );
    });
  });
});
