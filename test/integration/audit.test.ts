import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateDeviceIdentity, generateKeyPackages, generateLastResortKeyPackage } from "@parley/crypto";
import {
  AdminAuditResponse,
  type AuditEntryView,
  type AuditKind,
  PROTOCOL_VERSION,
  type SessionResponse,
} from "@parley/protocol";
import type { Config } from "@parley/server";
import { Secret, TOTP } from "otpauth";
import { Value } from "typebox/value";
import { runPromote } from "../../packages/server/src/admin/promote.js";
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

// The persisted audit log (PROTOCOL.md AUDIT-1..3) through the real server: events recorded by
// the routes, the guard, the admin service, the delivery service and the promote command, read
// back with GET /api/admin/audit and its export, on SQLite and on PostgreSQL.

const QUIET_IDS: Partial<Config> = {
  bruteForceMaxFailures: 1_000_000,
  accountFreeFailures: 1_000_000,
  authRatePerMin: 1_000_000,
};
const METRICS_TOKEN = "metrics-secret-token-0123456789";
const UA = "audit-test/1.0 (integration)";

type Err = { code: string };
type Query = Record<string, string>;

const qs = (q: Query) => new URLSearchParams(q).toString();

function auditPage(ts: TestServer, token: string, q: Query = {}) {
  return request<AdminAuditResponse & Err>(ts, "GET", `/api/admin/audit?${qs(q)}`, { token });
}

/** The entries matching `q` once `ready` holds for them: writes are in the background. */
async function awaitEntries(
  ts: TestServer,
  token: string,
  q: Query,
  ready: (entries: AuditEntryView[]) => boolean,
): Promise<AuditEntryView[]> {
  let last: AuditEntryView[] = [];
  for (let i = 0; i < 100; i++) {
    const res = await auditPage(ts, token, { limit: "500", ...q });
    assert.equal(res.status, 200, res.text);
    last = res.body.entries;
    if (ready(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`audit entries for ${qs(q)} never matched: ${JSON.stringify(last)}`);
}

const hasKind =
  (kind: AuditKind, extra: (e: AuditEntryView) => boolean = () => true) =>
  (es: AuditEntryView[]) =>
    es.some((e) => e.kind === kind && extra(e));

function suite(
  start: (overrides?: Partial<Config>) => Promise<TestServer>,
  databaseUrl: () => string | null,
) {
  let ts: TestServer;
  let admin: SessionResponse;
  let user: SessionResponse;
  const secrets: string[] = [STRONG_PASSWORD, METRICS_TOKEN];
  before(async () => {
    ts = await start({ ...QUIET_IDS, metricsToken: METRICS_TOKEN, nodeId: "node-one" });
    admin = await registerUser(ts, uniqueName("admin"));
    await ts.server.storage.setUserAdmin(asUserId(admin.user.id), true);
    user = await registerUser(ts, uniqueName("plain"));
    secrets.push(admin.accessToken, admin.refreshToken, user.accessToken, user.refreshToken);
  });
  after(async () => {
    await ts?.stop();
  });

  it("records the settings at start, with secrets redacted", async () => {
    const [entry] = await awaitEntries(
      ts,
      admin.accessToken,
      { kind: "settings_at_start" },
      (es) => es.length > 0,
    );
    assert.equal(entry?.node, "node-one");
    assert.equal(entry?.details.PARLEY_METRICS_TOKEN, "[redacted]");
    assert.equal(entry?.details.PARLEY_AUDIT_RETENTION_DAYS, 90);
  });

  it("records registration and login success with the IP and user agent, and failures without the name typed", async () => {
    const name = uniqueName("who");
    const reg = await request<SessionResponse>(ts, "POST", "/api/register", {
      body: { username: name, password: STRONG_PASSWORD },
      headers: { "user-agent": UA },
    });
    assert.equal(reg.status, 201, reg.text);
    const id = reg.body.user.id;
    secrets.push(reg.body.accessToken, reg.body.refreshToken);
    const ok = await request(ts, "POST", "/api/login", {
      body: { username: name, password: STRONG_PASSWORD },
      headers: { "user-agent": UA },
    });
    assert.equal(ok.status, 200);
    const wrong = "Wrong-Password-Typed-9";
    assert.equal((await login(ts, name, wrong)).status, 401);
    const ghost = uniqueName("nobody");
    assert.equal((await login(ts, ghost)).status, 401);
    secrets.push(wrong);

    const mine = await awaitEntries(ts, admin.accessToken, { user: id }, (es) =>
      ["user_registered", "login_succeeded", "login_failed"].every((k) => es.some((e) => e.kind === k)),
    );
    const registered = mine.find((e) => e.kind === "user_registered");
    assert.equal(registered?.ip, "127.0.0.1");
    assert.equal(registered?.userAgent, UA);
    assert.equal(registered?.username, name);
    const success = mine.find((e) => e.kind === "login_succeeded");
    assert.equal(success?.actorId, id);
    assert.equal(success?.userAgent, UA);
    const failure = mine.find((e) => e.kind === "login_failed");
    assert.equal(failure?.details.reason, "invalid_credentials");
    assert.equal(failure?.actorId, null);

    // Looked up by username too.
    const byName = await auditPage(ts, admin.accessToken, { user: name, kind: "login_succeeded" });
    assert.deepEqual(
      byName.body.entries.map((e) => e.userId),
      [id],
    );
    const failures = await awaitEntries(
      ts,
      admin.accessToken,
      { kind: "login_failed", ip: "127.0.0.1" },
      (es) => es.some((e) => e.userId === null),
    );
    assert.ok(!JSON.stringify(failures).includes(ghost), "an unknown name typed at login is kept");
  });

  it("records password changes, logouts and token reuse as the person's own doing", async () => {
    const name = uniqueName("pw");
    const s = await registerUser(ts, name);
    const next = "Another-Harbour-Lamp-8";
    secrets.push(next, s.accessToken, s.refreshToken);
    const pw = await request(ts, "POST", "/api/password", {
      token: s.accessToken,
      body: { currentPassword: STRONG_PASSWORD, newPassword: next },
    });
    assert.equal(pw.status, 204, pw.text);
    const again = await login(ts, name, next);
    secrets.push(again.body.accessToken, again.body.refreshToken);
    const refreshed = await request<SessionResponse>(ts, "POST", "/api/token/refresh", {
      body: { refreshToken: again.body.refreshToken },
    });
    assert.equal(refreshed.status, 200);
    secrets.push(refreshed.body.accessToken, refreshed.body.refreshToken);
    const reuse = await request(ts, "POST", "/api/token/refresh", {
      body: { refreshToken: again.body.refreshToken },
    });
    assert.equal(reuse.status, 401);
    const fresh = await login(ts, name, next);
    assert.equal((await request(ts, "POST", "/api/logout", { token: fresh.body.accessToken })).status, 204);

    const entries = await awaitEntries(
      ts,
      admin.accessToken,
      { user: s.user.id },
      (es) =>
        hasKind("password_changed")(es) &&
        hasKind("session_revoked", (e) => e.details.reason === "refresh_token_reuse")(es) &&
        hasKind("session_revoked", (e) => e.details.reason === "logout")(es),
    );
    assert.equal(entries.find((e) => e.kind === "password_changed")?.actorId, s.user.id);
  });

  it("records admin actions with the admin as actor", async () => {
    const victim = await registerUser(ts, uniqueName("victim"));
    const path = (what: string) => `/api/admin/users/${victim.user.id}/${what}`;
    assert.equal((await request(ts, "POST", path("disable"), { token: admin.accessToken })).status, 204);
    assert.equal((await request(ts, "POST", path("enable"), { token: admin.accessToken })).status, 204);
    const invite = await request<{ code: string }>(ts, "POST", "/api/admin/invites", {
      token: admin.accessToken,
      body: {},
    });
    assert.equal(invite.status, 201);
    secrets.push(invite.body.code, invite.body.code.replaceAll("-", ""));
    const entries = await awaitEntries(ts, admin.accessToken, { user: admin.user.id }, (es) =>
      ["account_disabled", "account_enabled", "invite_created"].every((k) => es.some((e) => e.kind === k)),
    );
    for (const kind of ["account_disabled", "account_enabled"]) {
      const e = entries.find((x) => x.kind === kind);
      assert.equal(e?.actorId, admin.user.id);
      assert.equal(e?.userId, victim.user.id);
    }
    assert.equal(entries.find((e) => e.kind === "invite_created")?.ip, "127.0.0.1");
  });

  it("records an admin clearing a person's TOTP and an admin's IP block, with the admin as actor", async () => {
    const person = await registerUser(ts, uniqueName("lostphone"));
    const begun = await request<{ secret: string }>(ts, "POST", "/api/totp/enrol", {
      token: person.accessToken,
      body: { password: STRONG_PASSWORD },
    });
    assert.equal(begun.status, 200, begun.text);
    secrets.push(begun.body.secret);
    const code = new TOTP({ secret: Secret.fromBase32(begun.body.secret) }).generate();
    const on = await request(ts, "POST", "/api/totp/confirm", { token: person.accessToken, body: { code } });
    assert.equal(on.status, 200, on.text);
    const cleared = await request(ts, "DELETE", `/api/admin/users/${person.user.id}/totp`, {
      token: admin.accessToken,
    });
    assert.equal(cleared.status, 200, cleared.text);
    const note = "audit-note-never-stored";
    const blocked = await request(ts, "POST", "/api/admin/blocks", {
      token: admin.accessToken,
      body: { ip: "10.77.0.1", minutes: 5, note },
    });
    assert.equal(blocked.status, 201, blocked.text);
    const entries = await awaitEntries(
      ts,
      admin.accessToken,
      { user: admin.user.id },
      (es) => hasKind("totp_cleared")(es) && hasKind("ip_blocked")(es),
    );
    const entry = entries.find((e) => e.kind === "totp_cleared");
    assert.equal(entry?.userId, person.user.id);
    assert.deepEqual(entry?.details, { sessions: 1, mustEnrol: false });
    const block = entries.find((e) => e.kind === "ip_blocked");
    assert.equal(block?.ip, "10.77.0.1");
    assert.equal(block?.details.by, "admin");
    assert.ok(!JSON.stringify(entries).includes(note), "the note is not in the audit log");
  });

  it("records a role change made with the promote command, in the same log", async () => {
    const name = uniqueName("promoted");
    const p = await registerUser(ts, name);
    const url = databaseUrl();
    const out = await runPromote([
      "promote",
      name,
      ...(url ? ["--database-url", url] : ["--data-dir", ts.dataDir]),
    ]);
    assert.equal(out, `${name} is now an admin`);
    const [entry] = await awaitEntries(
      ts,
      admin.accessToken,
      { kind: "role_changed", user: p.user.id },
      (es) => es.length > 0,
    );
    assert.equal(entry?.node, "console");
    assert.equal(entry?.details.isAdmin, true);
  });

  it("records a device bound to an account", async () => {
    const s = await registerUser(ts, uniqueName("dev"));
    const deviceId = `dev${Math.floor(Math.random() * 1e9)}`;
    const identity = await generateDeviceIdentity({ userId: s.user.id, deviceId });
    const [bundle] = await generateKeyPackages(identity, 1);
    const last = await generateLastResortKeyPackage(identity);
    const socket = await TestSocket.open(ts);
    socket.send({ type: "auth", token: s.accessToken, protocolVersion: PROTOCOL_VERSION, deviceId });
    await socket.next("ready");
    const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
    const answer = await socket.call({
      type: "device.register",
      deviceId,
      signatureKey: b64(identity.signaturePublicKey),
      keyPackages: bundle ? [b64(bundle.keyPackage)] : [],
      lastResort: b64(last.keyPackage),
    });
    assert.equal(answer.type, "keypackages.count", JSON.stringify(answer));
    socket.close();
    const [entry] = await awaitEntries(
      ts,
      admin.accessToken,
      { kind: "device_added", user: s.user.id },
      (es) => es.length > 0,
    );
    assert.equal(entry?.details.deviceId, deviceId);
  });

  it("pages newest first with a cursor, each entry matching the schema", async () => {
    const first = await auditPage(ts, admin.accessToken, { limit: "3" });
    assert.equal(first.status, 200, first.text);
    assert.ok(Value.Check(AdminAuditResponse, first.body), first.text);
    assert.equal(first.body.entries.length, 3);
    assert.ok(first.body.nextCursor);
    const second = await auditPage(ts, admin.accessToken, {
      limit: "3",
      cursor: first.body.nextCursor ?? "",
    });
    assert.equal(second.status, 200);
    const ids = [...first.body.entries, ...second.body.entries].map((e) => e.id);
    assert.deepEqual([...ids].sort().reverse(), ids, "newest first across pages");
    assert.equal(new Set(ids).size, ids.length);
    const window = await auditPage(ts, admin.accessToken, {
      from: String(first.body.entries.at(-1)?.at ?? 0),
      to: String((first.body.entries[0]?.at ?? 0) + 1),
    });
    for (const e of window.body.entries) assert.ok(e.at >= (first.body.entries.at(-1)?.at ?? 0));
  });

  it("refuses malformed filters with validation_failed", async () => {
    for (const q of [
      { kind: "not_a_kind" },
      { from: "10", to: "5" },
      { from: "-1" },
      { limit: "0" },
      { limit: "501" },
      { limit: "ten" },
      { ip: "not-an-ip" },
      { cursor: "zz" },
      { user: "" },
    ]) {
      const res = await auditPage(ts, admin.accessToken, q);
      assert.equal(res.status, 400, `${qs(q)}: ${res.text}`);
      assert.equal(res.body.code, "validation_failed");
    }
  });

  it("refuses the audit log to a non-admin and to no token, even called directly", async () => {
    for (const path of ["/api/admin/audit", "/api/admin/audit/export"]) {
      const res = await request<Err>(ts, "GET", path, { token: user.accessToken });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.code, "admin_required");
      const anon = await request<Err>(ts, "GET", path);
      assert.equal(anon.status, 401);
    }
  });

  it("exports as JSON lines, audits the export, and never holds a password, token or code", async () => {
    const res = await request<string>(ts, "GET", "/api/admin/audit/export", { token: admin.accessToken });
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^application\/x-ndjson/);
    const lines = res.text.trimEnd().split("\n");
    assert.ok(lines.length > 10);
    for (const line of lines) {
      const entry = JSON.parse(line) as AuditEntryView;
      assert.match(entry.id, /^[0-9a-f]{24}$/);
    }
    for (const secret of secrets) assert.ok(!res.text.includes(secret), "a secret is in the audit log");
    const bad = await request<Err>(ts, "GET", "/api/admin/audit/export?kind=nope", {
      token: admin.accessToken,
    });
    assert.equal(bad.status, 400);
    await awaitEntries(ts, admin.accessToken, { kind: "audit_exported" }, (es) => es.length > 0);
  });

  it("rate limits an admin's requests with rate_limited", async () => {
    const limited = await start({ ...QUIET_IDS, adminRatePerMin: 2 });
    try {
      const a = await registerUser(limited, uniqueName("rl"));
      await limited.server.storage.setUserAdmin(asUserId(a.user.id), true);
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await auditPage(limited, a.accessToken)).status);
      assert.deepEqual(codes, [200, 200, 429]);
    } finally {
      await limited.stop();
    }
  });
}

describe("audit log on SQLite", () => {
  suite(
    (o) => startTestServer(o),
    () => null,
  );

  it("records an IP block and its end", async () => {
    const ts = await startTestServer({
      bruteForceMaxFailures: 2,
      bruteForceBlockS: 1,
      authRatePerMin: 1_000_000,
    });
    try {
      const a = await registerUser(ts, uniqueName("ipadmin"));
      await ts.server.storage.setUserAdmin(asUserId(a.user.id), true);
      for (let i = 0; i < 2; i++) await login(ts, uniqueName("nope"), "Wrong-Password-1x");
      const entries = await awaitEntries(
        ts,
        a.accessToken,
        { ip: "127.0.0.1" },
        (es) => hasKind("ip_blocked")(es) && hasKind("ip_unblocked", (e) => e.details.by === "expiry")(es),
      );
      assert.equal(entries.find((e) => e.kind === "ip_blocked")?.details.failures, 2);
    } finally {
      await ts.stop();
    }
  });
});

describePostgres("audit log on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  let url = "";
  before(async () => {
    url = await schemas.create();
  });
  after(() => schemas.dropAll());
  suite(
    (o) => startTestServer({ ...o, databaseUrl: url }),
    () => url,
  );

  it("every server of a cluster writes into the shared log", async () => {
    const one = await startTestServer({ ...QUIET_IDS, databaseUrl: url, nodeId: "pg-one" });
    const two = await startTestServer({ ...QUIET_IDS, databaseUrl: url, nodeId: "pg-two" });
    try {
      const a = await registerUser(one, uniqueName("cl"));
      await one.server.storage.setUserAdmin(asUserId(a.user.id), true);
      const name = uniqueName("elsewhere");
      await registerUser(two, name);
      const entries = await awaitEntries(one, a.accessToken, { user: name }, hasKind("user_registered"));
      assert.equal(entries.find((e) => e.kind === "user_registered")?.node, "pg-two");
    } finally {
      await two.stop();
      await one.stop();
    }
  });
});
