import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateDeviceIdentity, generateLastResortKeyPackage } from "@parley/crypto";
import {
  type AdminAuditResponse,
  PROTOCOL_VERSION,
  RecoveryCodesResponse,
  ResetCodeResponse,
  type SessionResponse,
} from "@parley/protocol";
import type { Config } from "@parley/server";
import { Value } from "typebox/value";
import { asUserId } from "../../packages/server/src/domain/ids.js";
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
import { TestSocket } from "./support/ws-client.js";

// Account recovery without email (PROTOCOL.md AUTH-11, AUTH-12) over real HTTPS, on SQLite and
// PostgreSQL: admin-issued reset codes, self-made recovery codes, and what a reset ends.

const QUIET_IDS: Partial<Config> = {
  bruteForceMaxFailures: 1_000_000,
  accountFreeFailures: 1_000_000,
  authRatePerMin: 1_000_000,
  passwordChangesPerHour: 1_000_000,
};
const NEW_PASSWORD = "Fresh-Meadow-Lantern-4";
const HOUR = 3_600_000;

type Err = { code: string };

function reset(ts: TestServer, username: string, code: string, newPassword = NEW_PASSWORD) {
  return request<Err>(ts, "POST", "/api/password/reset", { body: { username, code, newPassword } });
}

function issue(ts: TestServer, token: string, userId: string) {
  return request<ResetCodeResponse & Err>(ts, "POST", `/api/admin/users/${userId}/reset-code`, { token });
}

/** Binds an identity key to the account with a real device registration; returns the key. */
async function bindIdentity(ts: TestServer, s: SessionResponse): Promise<string> {
  const deviceId = `dev${Math.floor(Math.random() * 1e9)}`;
  const identity = await generateDeviceIdentity({ userId: s.user.id, deviceId });
  const last = await generateLastResortKeyPackage(identity);
  const socket = await TestSocket.open(ts);
  socket.send({ type: "auth", token: s.accessToken, protocolVersion: PROTOCOL_VERSION, deviceId });
  await socket.next("ready");
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
  const answer = await socket.call({
    type: "device.register",
    deviceId,
    signatureKey: b64(identity.signaturePublicKey),
    keyPackages: [],
    lastResort: b64(last.keyPackage),
  });
  assert.equal(answer.type, "keypackages.count", JSON.stringify(answer));
  socket.close();
  const res = await request<{ identityKey: string }>(ts, "GET", "/api/identity", { token: s.accessToken });
  assert.ok(res.body.identityKey);
  return res.body.identityKey;
}

function suite(start: (overrides?: Partial<Config>) => Promise<TestServer>) {
  let ts: TestServer;
  let admin: SessionResponse;
  before(async () => {
    ts = await start(QUIET_IDS);
    admin = await registerUser(ts, uniqueName("admin"));
    await ts.server.storage.setUserAdmin(asUserId(admin.user.id), true);
  });
  after(async () => {
    await ts?.stop();
  });

  it("lets a person set a new password with an admin's reset code; every session ends and the identity stays", async () => {
    const name = uniqueName("forgot");
    const person = await registerUser(ts, name);
    const identityKey = await bindIdentity(ts, person);
    const socket = await TestSocket.authed(ts, person.accessToken);

    const before = Date.now();
    const issued = await issue(ts, admin.accessToken, person.user.id);
    assert.equal(issued.status, 201, issued.text);
    assert.ok(Value.Check(ResetCodeResponse, issued.body));
    assert.match(issued.body.code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    assert.ok(issued.body.expiresAt >= before + 24 * HOUR && issued.body.expiresAt <= Date.now() + 24 * HOUR);

    // Typed loosely, as a person would.
    const typed = issued.body.code.toLowerCase().replaceAll("-", " ");
    const res = await reset(ts, name, typed);
    assert.equal(res.status, 204, res.text);
    const closed = await socket.closed;
    assert.equal(closed.code, 1008);
    const me = await request<Err>(ts, "GET", "/api/me", { token: person.accessToken });
    assert.equal(me.body.code, "session_revoked");
    assert.equal((await login(ts, name)).status, 401, "the old password still works");
    const fresh = await login(ts, name, NEW_PASSWORD);
    assert.equal(fresh.status, 200, fresh.text);
    const after = await request<{ identityKey: string }>(ts, "GET", "/api/identity", {
      token: fresh.body.accessToken,
    });
    assert.equal(after.body.identityKey, identityKey, "the identity key changed");

    const again = await reset(ts, name, issued.body.code, "Second-Meadow-Lantern-5");
    assert.equal(again.status, 401, "a reset code works twice");
    assert.equal(again.body.code, "reset_code_invalid");

    const audit = await request<AdminAuditResponse>(ts, "GET", `/api/admin/audit?user=${person.user.id}`, {
      token: admin.accessToken,
    });
    const kinds = audit.body.entries.map((e) => e.kind);
    assert.ok(kinds.includes("reset_code_issued") && kinds.includes("password_reset"), kinds.join());
    const text = JSON.stringify(audit.body);
    assert.ok(!text.includes(issued.body.code) && !text.includes(issued.body.code.replaceAll("-", "")));
    assert.ok(!text.includes(NEW_PASSWORD));
  });

  it("answers a wrong code and an unknown name alike, and spends no code on a weak password", async () => {
    const name = uniqueName("weak");
    const person = await registerUser(ts, name);
    const issued = await issue(ts, admin.accessToken, person.user.id);
    const wrong = await reset(ts, name, "AAAA-BBBB-CCCC-DDDD");
    const ghost = await reset(ts, uniqueName("ghost"), issued.body.code);
    for (const res of [wrong, ghost]) {
      assert.equal(res.status, 401);
      assert.equal(res.body.code, "reset_code_invalid");
    }
    const weak = await reset(ts, name, issued.body.code, "short");
    assert.equal(weak.status, 400);
    assert.equal(weak.body.code, "password_policy");
    assert.equal((await reset(ts, name, issued.body.code)).status, 204, "the weak try spent the code");
  });

  it("makes a new reset code replace the unused one before it", async () => {
    const name = uniqueName("twice");
    const person = await registerUser(ts, name);
    const first = await issue(ts, admin.accessToken, person.user.id);
    const second = await issue(ts, admin.accessToken, person.user.id);
    assert.equal((await reset(ts, name, first.body.code)).status, 401);
    assert.equal((await reset(ts, name, second.body.code)).status, 204);
  });

  it("refuses reset codes to non-admins and for unknown accounts", async () => {
    const plain = await registerUser(ts, uniqueName("plain"));
    const refused = await issue(ts, plain.accessToken, admin.user.id);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, "admin_required");
    const missing = await issue(ts, admin.accessToken, "no-such-user");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "user_not_found");
  });

  it("gives a person ten single-use recovery codes after their password, replacing older ones", async () => {
    const name = uniqueName("self");
    const person = await registerUser(ts, name);
    const make = (password: string, token = person.accessToken) =>
      request<RecoveryCodesResponse & Err>(ts, "POST", "/api/recovery-codes", { token, body: { password } });
    const remaining = async (token: string) =>
      (await request<{ remaining: number }>(ts, "GET", "/api/recovery-codes", { token })).body.remaining;

    const wrong = await make("Not-The-Password-1");
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, "invalid_credentials");
    assert.equal(await remaining(person.accessToken), 0);

    const first = await make(STRONG_PASSWORD);
    assert.equal(first.status, 201, first.text);
    assert.ok(Value.Check(RecoveryCodesResponse, first.body));
    assert.equal(first.body.codes.length, 10);
    assert.equal(new Set(first.body.codes).size, 10);
    const second = await make(STRONG_PASSWORD);
    const [old] = first.body.codes;
    const [use, other] = second.body.codes;
    assert.equal((await reset(ts, name, old ?? "")).status, 401, "an older set still works");

    assert.equal((await reset(ts, name, use ?? "")).status, 204);
    assert.equal((await reset(ts, name, use ?? "", "Other-Meadow-Lantern-6")).status, 401, "used twice");
    const signedIn = await login(ts, name, NEW_PASSWORD);
    assert.equal(await remaining(signedIn.body.accessToken), 9);
    assert.equal((await reset(ts, name, other ?? "", "Other-Meadow-Lantern-6")).status, 204);
  });
}

describe("account recovery on SQLite", () => {
  suite((o) => startTestServer(o));

  it("counts wrong codes as failed logins: the IP is blocked", async () => {
    const ts = await startTestServer({ bruteForceMaxFailures: 3, authRatePerMin: 1_000_000 });
    try {
      const name = uniqueName("guess");
      await registerUser(ts, name);
      for (let i = 0; i < 3; i++) assert.equal((await reset(ts, name, `AAAA-BBBB-CCCC-000${i}`)).status, 401);
      const blocked = await reset(ts, name, "AAAA-BBBB-CCCC-0009");
      assert.equal(blocked.status, 403);
      assert.equal(blocked.body.code, "ip_blocked");
      assert.ok(Number(blocked.headers["retry-after"]) > 0);
    } finally {
      await ts.stop();
    }
  });
});

describePostgres("account recovery on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  let url = "";
  before(async () => {
    url = await schemas.create();
  });
  after(() => schemas.dropAll());
  suite((o) => startTestServer({ ...o, databaseUrl: url }));
});
