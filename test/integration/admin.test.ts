import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  AdminBlocksResponse,
  AdminInvitesResponse,
  AdminRoomsResponse,
  AdminSettingsResponse,
  AdminStatsResponse,
  AdminUsersResponse,
  CreateInviteResponse,
  type SessionResponse,
} from "@parley/protocol";
import type { Config } from "@parley/server";
import { Value } from "typebox/value";
import { PROMOTE_USAGE, PromoteError, runPromote } from "../../packages/server/src/admin/promote.js";
import { asUserId } from "../../packages/server/src/domain/ids.js";
import { newInviteCode } from "../../packages/server/src/domain/tokens.js";
import { describePostgres, TestSchemas } from "../../packages/server/src/storage/test-databases.js";
import {
  login,
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { type Closed, TestSocket } from "./support/ws-client.js";

// The admin API (PROTOCOL.md AUTH-10, "Admin endpoints") over real HTTPS and WSS, and the local
// promote command run as a real child process against a server's data dir.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PROMOTE_CLI = "packages/server/src/admin/promote-cli.ts";
const HOUR = 3_600_000;

/** Keeps the brute-force defences out of the way where a test does not exercise them. */
const QUIET_IDS: Partial<Config> = {
  bruteForceMaxFailures: 1_000_000,
  accountFreeFailures: 1_000_000,
  authRatePerMin: 1_000_000,
};

type Err = { code: string };

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function closedOf(socket: TestSocket): Promise<Closed> {
  return within(socket.closed, 5000, "socket close");
}

/** A registered user made admin straight in the database (the CLI has its own tests below). */
async function registerAdmin(ts: TestServer): Promise<SessionResponse> {
  const session = await registerUser(ts, uniqueName("admin"));
  await ts.server.storage.setUserAdmin(asUserId(session.user.id), true);
  return session;
}

function register(ts: TestServer, username: string, inviteCode?: string) {
  return request<SessionResponse & Err>(ts, "POST", "/api/register", {
    body: { username, password: STRONG_PASSWORD, ...(inviteCode !== undefined ? { inviteCode } : {}) },
  });
}

function createInvite(ts: TestServer, token: string, body: unknown = {}) {
  return request<CreateInviteResponse & Err>(ts, "POST", "/api/admin/invites", { token, body });
}

function logLines(ts: TestServer): Record<string, unknown>[] {
  return ts.logs
    .flatMap((chunk) => chunk.split("\n"))
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function detailsOf(line: Record<string, unknown> | undefined): Record<string, unknown> {
  return (line?.details ?? {}) as Record<string, unknown>;
}

/** The audit line of an event; pino writes it before the response, so no waiting is needed. */
function auditLine(ts: TestServer, match: (line: Record<string, unknown>) => boolean, what: string) {
  const line = logLines(ts).find((l) => l.component === "audit" && match(l));
  assert.ok(line, `no ${what} audit line`);
  return line;
}

describe("admin API", () => {
  let ts: TestServer;
  let admin: SessionResponse;
  let user: SessionResponse;
  before(async () => {
    ts = await startTestServer(QUIET_IDS);
    admin = await registerAdmin(ts);
    user = await registerUser(ts, uniqueName("plain"));
  });
  after(async () => {
    await ts?.stop();
  });

  const ENDPOINTS: [method: string, path: () => string][] = [
    ["POST", () => "/api/admin/invites"],
    ["GET", () => "/api/admin/users"],
    ["POST", () => `/api/admin/users/${admin.user.id}/disable`],
    ["POST", () => `/api/admin/users/${admin.user.id}/enable`],
    ["GET", () => "/api/admin/blocks"],
    ["DELETE", () => "/api/admin/blocks/127.0.0.1"],
    ["DELETE", () => "/api/admin/rooms/ABCDEF"],
    ["GET", () => "/api/admin/invites"],
    ["DELETE", () => "/api/admin/invites/0123456789abcdef"],
    ["GET", () => "/api/admin/rooms"],
    ["GET", () => "/api/admin/stats"],
    ["GET", () => "/api/admin/settings"],
    ["POST", () => `/api/admin/users/${user.user.id}/role`],
  ];

  it("refuses every admin endpoint to a user who is not an admin with 403 admin_required", async () => {
    for (const [method, path] of ENDPOINTS) {
      const res = await request<Err>(ts, method, path(), {
        token: user.accessToken,
        ...(method === "POST" && path().endsWith("/invites") ? { body: {} } : {}),
        ...(path().endsWith("/role") ? { body: { admin: true } } : {}),
      });
      assert.equal(res.status, 403, `${method} ${path()}: ${res.text}`);
      assert.equal(res.body.code, "admin_required");
      assert.equal(res.headers["cache-control"], "no-store");
    }
  });

  it("refuses every admin endpoint without a token with 401 token_invalid", async () => {
    for (const [method, path] of ENDPOINTS) {
      const res = await request<Err>(ts, method, path());
      assert.equal(res.status, 401, `${method} ${path()}: ${res.text}`);
      assert.equal(res.body.code, "token_invalid");
    }
  });

  it("checks the admin before the body, so a non-admin learns nothing from a bad body", async () => {
    const res = await createInvite(ts, user.accessToken, { ttlHours: "not a number" });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "admin_required");
  });

  it("lists every account with its admin, disabled and two-step flags and nothing secret", async () => {
    const res = await request<AdminUsersResponse>(ts, "GET", "/api/admin/users", {
      token: admin.accessToken,
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(Value.Check(AdminUsersResponse, res.body), res.text);
    const byName = new Map(res.body.users.map((u) => [u.username, u]));
    assert.deepEqual(Object.keys(byName.get(admin.user.username) ?? {}).sort(), [
      "createdAt",
      "disabled",
      "id",
      "isAdmin",
      "totp",
      "username",
    ]);
    assert.equal(byName.get(admin.user.username)?.isAdmin, true);
    assert.equal(byName.get(user.user.username)?.totp, false);
    assert.equal(byName.get(user.user.username)?.isAdmin, false);
    assert.equal(byName.get(user.user.username)?.disabled, false);
    assert.equal(byName.get(user.user.username)?.id, user.user.id);
    const createdAt = byName.get(user.user.username)?.createdAt ?? 0;
    assert.ok(createdAt > Date.now() - HOUR && createdAt <= Date.now(), `createdAt ${createdAt}`);
    assert.ok(!res.text.includes("argon2"), "a password hash is in the answer");
  });

  it("creates an invite code that lives 72 hours by default and audits it without the code", async () => {
    const before = Date.now();
    const res = await createInvite(ts, admin.accessToken);
    assert.equal(res.status, 201, res.text);
    assert.ok(Value.Check(CreateInviteResponse, res.body), res.text);
    assert.match(res.body.code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    assert.ok(res.body.expiresAt >= before + 72 * HOUR && res.body.expiresAt <= Date.now() + 72 * HOUR);

    const line = auditLine(ts, (l) => l.event === "invite_created", "invite_created");
    assert.equal(line.actorId, admin.user.id);
    assert.equal(detailsOf(line).expiresAt, res.body.expiresAt);
    const logs = ts.logs.join("");
    assert.ok(!logs.includes(res.body.code), "the invite code is in the logs");
    assert.ok(!logs.includes(res.body.code.replaceAll("-", "")), "the invite code is in the logs");
  });

  it("takes ttlHours from 1 to 720 and refuses anything else as validation_failed", async () => {
    const one = await createInvite(ts, admin.accessToken, { ttlHours: 1 });
    assert.equal(one.status, 201, one.text);
    assert.ok(Math.abs(one.body.expiresAt - (Date.now() + HOUR)) < 60_000);
    assert.equal((await createInvite(ts, admin.accessToken, { ttlHours: 720 })).status, 201);
    for (const ttlHours of [0, 721, 1.5, "24", null]) {
      const res = await createInvite(ts, admin.accessToken, { ttlHours });
      assert.equal(res.status, 400, `ttlHours ${JSON.stringify(ttlHours)}: ${res.text}`);
      assert.equal(res.body.code, "validation_failed");
    }
  });

  it("disables a user: closes their socket with 1008, and their login fails with account_disabled", async () => {
    const name = uniqueName("victim");
    const victim = await registerUser(ts, name);
    const socket = await TestSocket.authed(ts, victim.accessToken);

    const res = await request(ts, "POST", `/api/admin/users/${victim.user.id}/disable`, {
      token: admin.accessToken,
    });
    assert.equal(res.status, 204, res.text);
    const closed = await closedOf(socket);
    assert.equal(closed.code, 1008);
    assert.equal(closed.reason, "account_disabled");

    const relogin = await login(ts, name);
    assert.equal(relogin.status, 403, relogin.text);
    assert.equal((relogin.body as unknown as Err).code, "account_disabled");
    // Disabling ended the session too, so the old token is refused for that first.
    const me = await request<Err>(ts, "GET", "/api/me", { token: victim.accessToken });
    assert.equal(me.status, 401, me.text);
    assert.equal(me.body.code, "session_revoked");

    const list = await request<AdminUsersResponse>(ts, "GET", "/api/admin/users", {
      token: admin.accessToken,
    });
    assert.equal(list.body.users.find((u) => u.id === victim.user.id)?.disabled, true);
    const line = auditLine(
      ts,
      (l) => l.event === "account_disabled" && l.userId === victim.user.id,
      "account_disabled",
    );
    assert.equal(line.actorId, admin.user.id);
  });

  it("enables a disabled user so that they can log in again", async () => {
    const name = uniqueName("back");
    const back = await registerUser(ts, name);
    const path = (what: string) => `/api/admin/users/${back.user.id}/${what}`;
    assert.equal((await request(ts, "POST", path("disable"), { token: admin.accessToken })).status, 204);
    assert.equal((await login(ts, name)).status, 403);

    const res = await request(ts, "POST", path("enable"), { token: admin.accessToken });
    assert.equal(res.status, 204, res.text);
    const relogin = await login(ts, name);
    assert.equal(relogin.status, 200, relogin.text);
    const line = auditLine(
      ts,
      (l) => l.event === "account_enabled" && l.userId === back.user.id,
      "account_enabled",
    );
    assert.equal(line.actorId, admin.user.id);
  });

  it("refuses to let an admin disable their own account with invalid_target", async () => {
    const res = await request<Err>(ts, "POST", `/api/admin/users/${admin.user.id}/disable`, {
      token: admin.accessToken,
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "invalid_target");
    assert.equal((await request(ts, "GET", "/api/me", { token: admin.accessToken })).status, 200);
  });

  it("answers user_not_found for an account that does not exist", async () => {
    for (const what of ["disable", "enable"]) {
      const res = await request<Err>(ts, "POST", `/api/admin/users/no-such-user/${what}`, {
        token: admin.accessToken,
      });
      assert.equal(res.status, 404, res.text);
      assert.equal(res.body.code, "user_not_found");
    }
  });

  it("takes admin rights away at once: the demoted admin's same token gets admin_required", async () => {
    const second = await registerAdmin(ts);
    const path = "/api/admin/users";
    assert.equal((await request(ts, "GET", path, { token: second.accessToken })).status, 200);
    await ts.server.storage.setUserAdmin(asUserId(second.user.id), false);
    const res = await request<Err>(ts, "GET", path, { token: second.accessToken });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "admin_required");
  });

  it("refuses an admin whose account was disabled, with the same token", async () => {
    const second = await registerAdmin(ts);
    const res = await request(ts, "POST", `/api/admin/users/${second.user.id}/disable`, {
      token: admin.accessToken,
    });
    assert.equal(res.status, 204);
    const after = await request<Err>(ts, "GET", "/api/admin/users", { token: second.accessToken });
    assert.equal(after.status, 401, after.text);
    assert.equal(after.body.code, "session_revoked");
  });
});

describe("admin API: the admin area (issue 19)", () => {
  let ts: TestServer;
  let admin: SessionResponse;
  let user: SessionResponse;
  const METRICS_TOKEN = "metrics-token-that-must-stay-secret-7f3a";
  before(async () => {
    ts = await startTestServer({
      ...QUIET_IDS,
      frameRate: 1000,
      frameBurst: 1000,
      metricsToken: METRICS_TOKEN,
    });
    admin = await registerAdmin(ts);
    user = await registerUser(ts, uniqueName("plain"));
  });
  after(async () => {
    await ts?.stop();
  });

  const get = <T>(path: string, token = admin.accessToken) => request<T & Err>(ts, "GET", path, { token });

  it("lists invites with their creator, uses left and expiry, never a code, and revokes one", async () => {
    const made = await createInvite(ts, admin.accessToken, { ttlHours: 5, maxUses: 3 });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.body.maxUses, 3);
    const listed = await get<AdminInvitesResponse>("/api/admin/invites");
    assert.equal(listed.status, 200, listed.text);
    assert.ok(Value.Check(AdminInvitesResponse, listed.body), listed.text);
    const mine = listed.body.invites.find((i) => i.id === made.body.id);
    assert.deepEqual(mine, {
      id: made.body.id,
      createdBy: { id: admin.user.id, username: admin.user.username },
      createdAt: mine?.createdAt,
      expiresAt: made.body.expiresAt,
      maxUses: 3,
      uses: 0,
      usesLeft: 3,
      status: "active",
    });
    assert.ok(!listed.text.includes(made.body.code), "a code is in the list");

    const revoked = await request<Err>(ts, "DELETE", `/api/admin/invites/${made.body.id}`, {
      token: admin.accessToken,
    });
    assert.equal(revoked.status, 204, revoked.text);
    const after = (await get<AdminInvitesResponse>("/api/admin/invites")).body.invites.find(
      (i) => i.id === made.body.id,
    );
    assert.equal(after?.status, "revoked");
    assert.equal(after?.usesLeft, 0);
    const line = auditLine(ts, (l) => l.event === "invite_revoked", "invite_revoked");
    assert.equal(line.actorId, admin.user.id);
    assert.equal(detailsOf(line).inviteId, made.body.id);

    const again = await request<Err>(ts, "DELETE", `/api/admin/invites/${made.body.id}`, {
      token: admin.accessToken,
    });
    assert.equal(again.status, 404);
    assert.equal(again.body.code, "invite_not_found");
    const bad = await request<Err>(ts, "DELETE", "/api/admin/invites/NOT-AN-ID", {
      token: admin.accessToken,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, "validation_failed");
  });

  it("takes maxUses from 1 to 1000 and refuses anything else as validation_failed", async () => {
    assert.equal((await createInvite(ts, admin.accessToken, { maxUses: 1000 })).status, 201);
    for (const maxUses of [0, 1001, 2.5, "2", null]) {
      const res = await createInvite(ts, admin.accessToken, { maxUses });
      assert.equal(res.status, 400, `maxUses ${JSON.stringify(maxUses)}: ${res.text}`);
      assert.equal(res.body.code, "validation_failed");
    }
  });

  it("lists every room, private ones too but no direct conversation, with size and owner, a page at a time", async () => {
    const owner = await registerUser(ts, uniqueName("owner"));
    const o = await TestSocket.authed(ts, owner.accessToken);
    const u = await TestSocket.authed(ts, user.accessToken);
    const ids: string[] = [];
    for (const [name, isPublic] of [
      ["open-room", true],
      ["closed-room", false],
      ["third-room", true],
    ] as const) {
      const created = (await o.call({ type: "room.create", name, isPublic })) as { room: { id: string } };
      ids.push(created.room.id);
    }
    assert.equal((await u.call({ type: "room.join", roomId: ids[0] })).type, "room");
    await o.call({ type: "direct.open", userId: user.user.id }).catch(() => undefined);

    const first = await get<AdminRoomsResponse>("/api/admin/rooms?limit=2");
    assert.equal(first.status, 200, first.text);
    assert.ok(Value.Check(AdminRoomsResponse, first.body), first.text);
    assert.equal(first.body.rooms.length, 2);
    assert.ok(first.body.nextCursor, "a next page");
    const rest = await get<AdminRoomsResponse>(
      `/api/admin/rooms?limit=2&cursor=${encodeURIComponent(first.body.nextCursor ?? "")}`,
    );
    assert.equal(rest.status, 200, rest.text);
    const all = [...first.body.rooms, ...rest.body.rooms];
    assert.deepEqual(
      all.map((r) => [r.id, r.name, r.isPublic, r.members, r.owner?.username]),
      [
        [ids[0], "open-room", true, 2, owner.user.username],
        [ids[1], "closed-room", false, 1, owner.user.username],
        [ids[2], "third-room", true, 1, owner.user.username],
      ],
    );
    assert.equal(rest.body.nextCursor, null);
    for (const query of ["limit=0", "limit=201", "limit=x", "cursor=bad"]) {
      const res = await get<unknown>(`/api/admin/rooms?${query}`);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.equal(res.body.code, "validation_failed");
    }
    o.close();
    u.close();
  });

  it("shows live figures from the /metrics counters: connections, people online, rooms, messages, failed logins, blocks", async () => {
    const before = await get<AdminStatsResponse>("/api/admin/stats");
    assert.equal(before.status, 200, before.text);
    assert.ok(Value.Check(AdminStatsResponse, before.body), before.text);
    const owner = await TestSocket.authed(ts, user.accessToken);
    const created = (await owner.call({ type: "room.create", name: "figures", isPublic: true })) as {
      room: { id: string };
    };
    for (let i = 0; i < 3; i++) {
      const ack = (await owner.call({
        type: "message.send",
        to: { room: created.room.id },
        payload: "AAAA",
      })) as {
        type: string;
      };
      assert.equal(ack.type, "ack");
    }
    assert.equal((await login(ts, user.user.username, "Wrong-Password-1!")).status, 401);
    const now = await get<AdminStatsResponse>("/api/admin/stats");
    assert.equal(now.body.messagesPerMinute - before.body.messagesPerMinute, 3);
    assert.equal(now.body.failedLoginsPerHour - before.body.failedLoginsPerHour, 1);
    assert.equal(now.body.rooms - before.body.rooms, 1);
    assert.ok(now.body.connections >= 1, `connections ${now.body.connections}`);
    assert.ok(now.body.onlinePeople >= 1, `online ${now.body.onlinePeople}`);
    assert.equal(now.body.blockedIps, 0);
    const metrics = await request(ts, "GET", "/metrics", {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    assert.match(metrics.text, /^parley_messages_total \d+/m);
    assert.match(metrics.text, /^parley_login_failures_total \d+/m);
    owner.close();
  });

  it("shows the effective settings with every secret redacted", async () => {
    const res = await get<AdminSettingsResponse>("/api/admin/settings");
    assert.equal(res.status, 200, res.text);
    assert.ok(Value.Check(AdminSettingsResponse, res.body), res.text);
    assert.equal(res.body.settings.PARLEY_REGISTRATION, "open");
    assert.equal(res.body.settings.PARLEY_METRICS_TOKEN, "[redacted]");
    assert.ok(!res.text.includes(METRICS_TOKEN), "the metrics token is in the answer");
    const jwtSecret = (await readFile(join(ts.server.config.dataDir, "jwt.secret"))).toString("utf8").trim();
    assert.ok(
      jwtSecret.length > 0 && !res.text.includes(jwtSecret),
      "the token signing secret is in the answer",
    );
    for (const [name, value] of Object.entries(res.body.settings)) {
      if (/TOKEN|SECRET/.test(name) && value !== null) assert.equal(value, "[redacted]", name);
    }
  });

  it("makes an account an admin and back, at its next request, and audits both", async () => {
    const role = (admin_: boolean, target = user.user.id, token = admin.accessToken) =>
      request<Err>(ts, "POST", `/api/admin/users/${target}/role`, { token, body: { admin: admin_ } });
    assert.equal((await role(true)).status, 204);
    assert.equal((await get<unknown>("/api/admin/users", user.accessToken)).status, 200);
    assert.equal((await role(false)).status, 204);
    const refused = await get<unknown>("/api/admin/users", user.accessToken);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, "admin_required");
    const lines = logLines(ts).filter((l) => l.event === "role_changed" && l.userId === user.user.id);
    assert.deepEqual(
      lines.map((l) => [l.actorId, detailsOf(l).role]),
      [
        [admin.user.id, "admin"],
        [admin.user.id, "member"],
      ],
    );
    for (const body of [{}, { admin: "yes" }, { admin: null }]) {
      const res = await request<Err>(ts, "POST", `/api/admin/users/${user.user.id}/role`, {
        token: admin.accessToken,
        body,
      });
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.body.code, "validation_failed");
    }
    const missing = await role(true, "no-such-user");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "user_not_found");
  });

  it("never demotes the last admin, not even themselves", async () => {
    const res = await request<Err>(ts, "POST", `/api/admin/users/${admin.user.id}/role`, {
      token: admin.accessToken,
      body: { admin: false },
    });
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.code, "last_admin");
    assert.equal((await get<unknown>("/api/admin/users")).status, 200, "still an admin");
  });
});

describe("admin API: deleting a room (ROOM-13)", () => {
  let ts: TestServer;
  let admin: SessionResponse;
  before(async () => {
    ts = await startTestServer({ ...QUIET_IDS, frameRate: 1000, frameBurst: 1000 });
    admin = await registerAdmin(ts);
  });
  after(async () => {
    await ts?.stop();
  });

  it("deletes a room for everyone: members are told who did it, it leaves the directory, the audit names no room name", async () => {
    const owner = await registerUser(ts, uniqueName("owner"));
    const member = await registerUser(ts, uniqueName("member"));
    const outsider = await registerUser(ts, uniqueName("outsider"));
    const o = await TestSocket.authed(ts, owner.accessToken);
    const m = await TestSocket.authed(ts, member.accessToken);
    const x = await TestSocket.authed(ts, outsider.accessToken);
    const created = (await o.call({ type: "room.create", name: "spam-secret-name", isPublic: true })) as {
      room: { id: string };
    };
    const roomId = created.room.id;
    assert.equal((await m.call({ type: "room.join", roomId })).type, "room");
    const toOwner = o.waitFor((f) => f.type === "room.event" && (f as { event: string }).event === "deleted");
    const toMember = m.waitFor(
      (f) => f.type === "room.event" && (f as { event: string }).event === "deleted",
    );

    const res = await request<Err>(ts, "DELETE", `/api/admin/rooms/${roomId}`, { token: admin.accessToken });
    assert.equal(res.status, 204, res.text);
    for (const event of [await toOwner, await toMember]) {
      const { ts: when, ...rest } = event as { ts?: number };
      assert.equal(typeof when, "number", "the event carries the server's time");
      assert.deepEqual(rest, {
        type: "room.event",
        roomId,
        event: "deleted",
        userId: admin.user.id,
        username: admin.user.username,
      });
    }
    const listed = (await x.call({ type: "room.discover" })) as { rooms: { id: string }[] };
    assert.ok(!listed.rooms.some((r) => r.id === roomId), "gone from the directory");
    const mine = (await o.call({ type: "room.list" })) as { rooms: { id: string }[] };
    assert.deepEqual(mine.rooms, []);
    const send = (await m.call({ type: "message.send", to: { room: roomId }, payload: "AAAA" })) as Err;
    assert.equal(send.code, "room_not_found");
    const audit = logLines(ts).filter((l) => l.event === "room_deleted");
    assert.equal(audit.length, 1);
    assert.equal(detailsOf(audit[0]).roomId, roomId);
    assert.equal(detailsOf(audit[0]).members, 2);
    assert.ok(!ts.logs.join("").includes("spam-secret-name"), "the room's name is in no log line");
    for (const s of [o, m, x]) s.close();
  });

  it("answers 404 room_not_found for a room that does not exist, and validation_failed for a malformed id", async () => {
    const missing = await request<Err>(ts, "DELETE", "/api/admin/rooms/ZZZZZZ", { token: admin.accessToken });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "room_not_found");
    const bad = await request<Err>(ts, "DELETE", "/api/admin/rooms/not%20a%20room", {
      token: admin.accessToken,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, "validation_failed");
  });
});

describe("admin API: invite codes for registration", () => {
  let ts: TestServer;
  let admin: SessionResponse;
  before(async () => {
    ts = await startTestServer({ ...QUIET_IDS, registration: "invite" });
    // The first account needs a code too: one written straight into the database.
    const { code, hash } = newInviteCode();
    const bootstrap = asUserId("bootstrap");
    await ts.server.storage.createUser({
      id: bootstrap,
      username: uniqueName("boot"),
      passwordHash: "not-a-login",
      isAdmin: true,
      createdAt: Date.now(),
    });
    await ts.server.storage.createInvite({
      id: hash.slice(0, 16),
      codeHash: hash,
      createdBy: bootstrap,
      createdAt: Date.now(),
      expiresAt: Date.now() + HOUR,
    });
    const res = await register(ts, uniqueName("admin"), code);
    assert.equal(res.status, 201, res.text);
    admin = res.body;
    await ts.server.storage.setUserAdmin(asUserId(admin.user.id), true);
  });
  after(async () => {
    await ts?.stop();
  });

  it("lets one registration, and only one, use a code the admin created", async () => {
    const { body, status } = await createInvite(ts, admin.accessToken, { ttlHours: 2 });
    assert.equal(status, 201);
    const first = await register(ts, uniqueName("invited"), body.code);
    assert.equal(first.status, 201, first.text);
    assert.equal(first.body.user.isAdmin, false);

    const second = await register(ts, uniqueName("invited"), body.code);
    assert.equal(second.status, 403, second.text);
    assert.equal(second.body.code, "invite_invalid");
  });

  it("accepts the code as typed on a phone: lowercase, with spaces for dashes", async () => {
    const { body } = await createInvite(ts, admin.accessToken);
    const typed = body.code.toLowerCase().replaceAll("-", " ");
    assert.equal((await register(ts, uniqueName("phone"), typed)).status, 201);
  });

  it("stores only the hash of a code: the code is nowhere in the data dir", async () => {
    const { body } = await createInvite(ts, admin.accessToken);
    // The database (with its WAL) holds the hash; a registration with the code proves it matches.
    const entries = await readdir(ts.dataDir, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => e.name);
    assert.ok(files.includes("parley.db"));
    for (const file of files) {
      const bytes = await readFile(join(ts.dataDir, file));
      for (const form of [body.code, body.code.replaceAll("-", "")]) {
        assert.ok(!bytes.includes(form), `${file} holds the invite code`);
      }
    }
    assert.equal((await register(ts, uniqueName("hashed"), body.code)).status, 201);
  });

  it("lets a multi-use code register as many accounts as it allows, and a revoked code none", async () => {
    const { body } = await createInvite(ts, admin.accessToken, { maxUses: 2 });
    assert.equal((await register(ts, uniqueName("many"), body.code)).status, 201);
    assert.equal((await register(ts, uniqueName("many"), body.code)).status, 201);
    const third = await register(ts, uniqueName("many"), body.code);
    assert.equal(third.status, 403, third.text);
    assert.equal(third.body.code, "invite_invalid");

    const other = (await createInvite(ts, admin.accessToken, { maxUses: 5 })).body;
    const revoke = await request(ts, "DELETE", `/api/admin/invites/${other.id}`, {
      token: admin.accessToken,
    });
    assert.equal(revoke.status, 204);
    const refused = await register(ts, uniqueName("late"), other.code);
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.body.code, "invite_invalid");
  });

  it("refuses an expired code as invite_invalid", async () => {
    const { code, hash } = newInviteCode();
    await ts.server.storage.createInvite({
      id: hash.slice(0, 16),
      codeHash: hash,
      createdBy: asUserId(admin.user.id),
      createdAt: Date.now() - 2 * HOUR,
      expiresAt: Date.now() - 1000,
    });
    const res = await register(ts, uniqueName("late"), code);
    assert.equal(res.status, 403, res.text);
    assert.equal(res.body.code, "invite_invalid");
  });
});

describe("admin API: IP blocks", () => {
  let ts: TestServer;
  let admin: SessionResponse;
  let victim: string;
  before(async () => {
    // A long block, so that only the admin can have lifted it.
    ts = await startTestServer({
      bruteForceMaxFailures: 5,
      bruteForceWindowS: 300,
      bruteForceBlockS: 600,
      accountFreeFailures: 1_000_000,
      authRatePerMin: 1_000_000,
    });
    admin = await registerAdmin(ts);
    victim = uniqueName("blocked");
    await registerUser(ts, victim);
  });
  after(async () => {
    await ts?.stop();
  });

  async function blockLoopback(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const res = await login(ts, victim, `Wrong-Guess-${i}-Zq!`);
      assert.equal(res.status, 401, res.text);
    }
    const refused = await login(ts, victim);
    assert.equal(refused.status, 403, refused.text);
    assert.equal((refused.body as unknown as Err).code, "ip_blocked");
  }

  function blocks() {
    return request<AdminBlocksResponse>(ts, "GET", "/api/admin/blocks", { token: admin.accessToken });
  }

  function unblock(ip: string) {
    return request<Err>(ts, "DELETE", `/api/admin/blocks/${encodeURIComponent(ip)}`, {
      token: admin.accessToken,
    });
  }

  it("lists nothing while no address is blocked", async () => {
    const res = await blocks();
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { blocks: [] });
  });

  it("lists a blocked address, and lifting it lets the correct password in again", async () => {
    await blockLoopback();
    const listed = await blocks();
    assert.ok(Value.Check(AdminBlocksResponse, listed.body), listed.text);
    assert.equal(listed.body.blocks.length, 1, listed.text);
    const [block] = listed.body.blocks;
    assert.equal(block?.ip, "127.0.0.1");
    assert.ok((block?.retryAfterMs ?? 0) > 590_000 && (block?.retryAfterMs ?? 0) <= 600_000);

    const res = await unblock("127.0.0.1");
    assert.equal(res.status, 204, res.text);
    const relogin = await login(ts, victim);
    assert.equal(relogin.status, 200, relogin.text);
    assert.deepEqual((await blocks()).body, { blocks: [] });

    const line = auditLine(ts, (l) => l.event === "ip_unblocked" && l.actorId !== undefined, "ip_unblocked");
    assert.equal(line.actorId, admin.user.id);
    assert.equal(line.ip, "127.0.0.1");
    auditLine(ts, (l) => l.event === "ip_unblocked" && l.by === "admin", "ip_unblocked by admin");
  });

  it("lifts a block named by another form of the same address (IPv4-mapped IPv6)", async () => {
    await blockLoopback();
    const res = await unblock("::ffff:127.0.0.1");
    assert.equal(res.status, 204, res.text);
    assert.equal((await login(ts, victim)).status, 200);
  });

  it("answers 404 not_blocked for an address that is not blocked", async () => {
    const res = await unblock("192.0.2.7");
    assert.equal(res.status, 404, res.text);
    assert.equal(res.body.code, "not_blocked");
  });

  it("refuses something that is not an IP address with validation_failed", async () => {
    for (const ip of ["not-an-ip", "127.1", "1.2.3.4.5", "x".repeat(65)]) {
      const res = await unblock(ip);
      assert.equal(res.status, 400, `${ip}: ${res.text}`);
      assert.equal(res.body.code, "validation_failed");
    }
  });
});

describe("admin API: an admin blocks an address, with a note", () => {
  let ts: TestServer;
  let admin: SessionResponse;
  let person: string;
  // The balancer is trusted, so the address each request names is the one the server sees.
  const from = (ip: string) => ({ "x-forwarded-for": ip });
  before(async () => {
    ts = await startTestServer({
      trustedProxies: ["127.0.0.1"],
      bruteForceMaxFailures: 2,
      bruteForceBlockS: 600,
      accountFreeFailures: 1_000_000,
      authRatePerMin: 1_000_000,
    });
    admin = await registerAdmin(ts);
    person = uniqueName("behind");
    await registerUser(ts, person);
  });
  after(async () => {
    await ts?.stop();
  });
  const block = (body: unknown, token = admin.accessToken) =>
    request<{ ip: string } & Err>(ts, "POST", "/api/admin/blocks", { token, body });
  const blocks = () =>
    request<AdminBlocksResponse>(ts, "GET", "/api/admin/blocks", { token: admin.accessToken });
  const loginFrom = (ip: string) =>
    request<Err>(ts, "POST", "/api/login", {
      body: { username: person, password: STRONG_PASSWORD },
      headers: from(ip),
    });

  it("refuses logins from the address, lists it with the admin and the note, and lifts it", async () => {
    const note = "Scanning the login page\u0007 since 03:00";
    const res = await block({ ip: "10.44.0.9", minutes: 30, note });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.ip, "10.44.0.9");
    const refused = await loginFrom("10.44.0.9");
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, "ip_blocked");
    assert.equal((await loginFrom("::ffff:10.44.0.9")).body.code, "ip_blocked", "the mapped form too");
    assert.equal((await loginFrom("10.44.0.10")).status, 200, "its neighbour is not blocked");

    const listed = await blocks();
    assert.ok(Value.Check(AdminBlocksResponse, listed.body), listed.text);
    const entry = listed.body.blocks.find((b) => b.ip === "10.44.0.9");
    assert.equal(entry?.reason, "admin");
    assert.equal(entry?.note, "Scanning the login page  since 03:00", "control characters replaced");
    assert.equal(entry?.blockedBy?.id, admin.user.id);
    assert.ok((entry?.retryAfterMs ?? 0) > 29 * 60_000 && (entry?.retryAfterMs ?? 0) <= 30 * 60_000);
    assert.ok(!ts.logs.join("").includes("Scanning the login page"), "the note is never logged");
    const line = auditLine(ts, (l) => l.event === "ip_blocked" && l.actorId === admin.user.id, "ip_blocked");
    assert.equal(line.ip, "10.44.0.9");
    assert.equal(detailsOf(line).by, "admin");

    const lifted = await request(ts, "DELETE", "/api/admin/blocks/10.44.0.9", { token: admin.accessToken });
    assert.equal(lifted.status, 204, lifted.text);
    assert.equal((await loginFrom("10.44.0.9")).status, 200);
    assert.equal((await loginFrom("::ffff:10.44.0.9")).status, 200);
  });

  it("lists a block after failed logins as such, beside an admin's", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await request(ts, "POST", "/api/login", {
        body: { username: uniqueName("nobody"), password: `Wrong-Guess-${i}-Zq!` },
        headers: from("10.55.0.1"),
      });
      assert.equal(res.status, 401, res.text);
    }
    assert.equal((await block({ ip: "10.55.0.2", minutes: 5 })).status, 201);
    const listed = (await blocks()).body.blocks;
    const guessed = listed.find((b) => b.ip === "10.55.0.1");
    assert.equal(guessed?.reason, "brute_force");
    assert.equal(guessed?.note, null);
    assert.equal(guessed?.blockedBy, null);
    const byAdmin = listed.find((b) => b.ip === "10.55.0.2");
    assert.equal(byAdmin?.reason, "admin");
    assert.equal(byAdmin?.note, null);
  });

  it("refuses a bad address, minutes or note, the admin's own address, and a non-admin", async () => {
    for (const body of [
      { ip: "not-an-ip", minutes: 5 },
      { ip: "10.1.1.1", minutes: 0 },
      { ip: "10.1.1.1", minutes: 43_201 },
      { ip: "10.1.1.1", minutes: 5, note: "x".repeat(201) },
      { ip: "10.1.1.1" },
      { ip: "10.1.1.1", minutes: "5" },
    ]) {
      const res = await block(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.body.code, "validation_failed");
    }
    const own = await block({ ip: "127.0.0.1", minutes: 5 });
    assert.equal(own.body.code, "invalid_target", "an admin does not lock themselves out");
    const member = await registerUser(ts, uniqueName("member"));
    const refused = await block({ ip: "10.1.1.1", minutes: 5 }, member.accessToken);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, "admin_required");
    assert.equal(
      (await blocks()).body.blocks.some((b) => b.ip === "10.1.1.1"),
      false,
    );
  });
});

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the promote command as the operator would, with none of this process's Parley settings. */
function runCli(args: string[]): Promise<CliResult> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("PARLEY_") && k !== "DATABASE_URL" && k !== "REDIS_URL",
    ),
  );
  const child = spawn(
    process.execPath,
    ["--conditions=parley-source", "--import", "tsx", PROMOTE_CLI, ...args],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += String(c);
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += String(c);
  });
  const exited = new Promise<CliResult>((resolve) => {
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
  return within(exited, 30_000, "promote-cli exit").catch((e: unknown) => {
    child.kill();
    throw e;
  });
}

describe("promote command (local, on the server's own database)", () => {
  let ts: TestServer;
  let emptyDir: string;
  before(async () => {
    ts = await startTestServer(QUIET_IDS);
    emptyDir = await mkdtemp(join(tmpdir(), "parley-empty-"));
  });
  after(async () => {
    await ts?.stop();
    await rm(emptyDir, { recursive: true, force: true });
  });

  // A child process per exit status proves the command's wiring (output, stderr, status); the
  // cases behind each status run through runPromote in this process, which is what the command
  // runs, because each child costs seconds of start-up through tsx.
  it("promotes a user while the server runs, and their current token works for the admin API at once", async () => {
    const name = uniqueName("operator");
    const session = await registerUser(ts, name);
    const path = "/api/admin/users";
    assert.equal((await request(ts, "GET", path, { token: session.accessToken })).status, 403);

    const res = await runCli(["promote", name, "--data-dir", ts.dataDir]);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `${name} is now an admin\n`);
    assert.equal(res.stderr, "");
    assert.equal((await request(ts, "GET", path, { token: session.accessToken })).status, 200);

    const again = await runPromote(["promote", name.toUpperCase(), "--data-dir", ts.dataDir]);
    assert.equal(again, `${name} is already an admin`);

    const demoted = await runPromote(["demote", name, "--data-dir", ts.dataDir]);
    assert.equal(demoted, `${name} is no longer an admin`);
    const refused = await request<Err>(ts, "GET", path, { token: session.accessToken });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, "admin_required");
  });

  it("exits 1 with one line for an unknown user", async () => {
    const res = await runCli(["promote", "nobody-here", "--data-dir", ts.dataDir]);
    assert.equal(res.status, 1);
    assert.equal(res.stdout, "");
    assert.match(res.stderr, /^parley admin: unknown user "nobody-here"\n$/);
  });

  it("exits 1 without creating a database in a data dir that has none", async () => {
    await assert.rejects(runPromote(["promote", "alice", "--data-dir", emptyDir]), (e: unknown) => {
      assert.ok(e instanceof PromoteError, String(e));
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /^no Parley database at .*parley\.db \(check --data-dir or PARLEY_DATA_DIR\)$/);
      return true;
    });
    assert.deepEqual(await readdir(emptyDir), []);
  });

  it("exits 2 with the usage line for a bad command line", async () => {
    const res = await runCli(["crown", "alice", "--data-dir", ts.dataDir]);
    assert.equal(res.status, 2, res.stderr);
    assert.equal(res.stdout, "");
    assert.equal(res.stderr, `parley admin: ${PROMOTE_USAGE}\n`);
    for (const args of [
      [],
      ["promote"],
      ["crown", "alice"],
      ["promote", "a", "b"],
      ["promote", "a", "--nope"],
    ]) {
      await assert.rejects(runPromote([...args, "--data-dir", ts.dataDir]), (e: unknown) => {
        assert.ok(e instanceof PromoteError, `${args.join(" ")}: ${String(e)}`);
        assert.equal(e.exitCode, 2, args.join(" "));
        return true;
      });
    }
  });
});

describePostgres("promote command on PostgreSQL (DATABASE_URL)", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  let ts: TestServer;
  let databaseUrl: string;
  before(async () => {
    databaseUrl = await schemas.create();
    ts = await startTestServer({ ...QUIET_IDS, databaseUrl });
  });
  after(async () => {
    await ts?.stop();
    await schemas.dropAll();
  });

  it("promotes a user in the server's PostgreSQL database, not in a data dir", async () => {
    const name = uniqueName("pgop");
    const session = await registerUser(ts, name);
    const res = await runCli(["promote", name, "--database-url", databaseUrl]);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `${name} is now an admin\n`);
    const users = await request(ts, "GET", "/api/admin/users", { token: session.accessToken });
    assert.equal(users.status, 200, users.text);
  });
});
