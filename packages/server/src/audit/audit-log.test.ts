import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import pino from "pino";
import type { AuditEntry, AuditStore } from "../storage/audit-store.js";
import { openPostgresStorage } from "../storage/postgres.js";
import { openSqliteStorage } from "../storage/sqlite.js";
import type { Storage } from "../storage/storage.js";
import { describePostgres, TestSchemas, TestSqliteFiles } from "../storage/test-databases.js";
import { AuditLog, cleanUserAgent, consoleAuditEntry } from "./audit-log.js";

// Past 2^32 ms, so a time truncated to 32 bits or returned as a string would show.
const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const silent = pino({ level: "silent" });

/** The audit log (AUDIT-1, AUDIT-2) on a real database, run on every backend. */
function auditContract(
  newLocation: () => Promise<string>,
  open: (location: string) => Promise<Storage>,
): void {
  async function fresh(t: TestContext, nodeId = "n1") {
    const s = await open(await newLocation());
    t.after(() => s.close());
    let now = T0;
    const log = new AuditLog({ store: s.audit, log: silent, nodeId, retentionDays: 90, now: () => now });
    return { s, log, at: (ms: number) => (now = ms) };
  }

  test("keeps every field of an entry and gives them back newest first", async (t) => {
    const { log, at } = await fresh(t);
    log.record({
      kind: "login_failed",
      ip: "10.0.0.7",
      userAgent: "curl/8",
      details: { reason: "invalid_credentials" },
    });
    at(T0 + 1);
    log.record({
      kind: "account_disabled",
      actorId: "admin-1",
      userId: "u-bob",
      username: "bob",
      ip: "10.0.0.1",
      details: { n: 3, flag: true, none: null },
    });
    await log.flush();
    const entries = await log.list({ limit: 10 });
    assert.deepEqual(
      entries.map((e) => e.kind),
      ["account_disabled", "login_failed"],
    );
    const [disabled, failed] = entries as [AuditEntry, AuditEntry];
    assert.equal(disabled.at, T0 + 1);
    assert.equal(typeof disabled.at, "number");
    assert.equal(disabled.node, "n1");
    assert.equal(disabled.actorId, "admin-1");
    assert.equal(disabled.userId, "u-bob");
    assert.equal(disabled.username, "bob");
    assert.deepEqual(disabled.details, { n: 3, flag: true, none: null });
    assert.equal(failed.userId, null);
    assert.equal(failed.userAgent, "curl/8");
    assert.match(failed.id, /^[0-9a-f]{24}$/);
  });

  test("orders entries of one millisecond as they were recorded", async (t) => {
    const { log } = await fresh(t);
    for (let i = 0; i < 20; i++) log.record({ kind: "login_failed", details: { i } });
    await log.flush();
    const entries = await log.list({ limit: 50 });
    assert.deepEqual(
      entries.map((e) => e.details.i),
      Array.from({ length: 20 }, (_, i) => 19 - i),
    );
  });

  test("filters by time range, kind, user (actor or subject) and IP, and pages by id", async (t) => {
    const { log, at } = await fresh(t);
    at(T0);
    log.record({ kind: "login_succeeded", actorId: "u-a", userId: "u-a", ip: "10.0.0.1" });
    at(T0 + 10);
    log.record({ kind: "account_disabled", actorId: "u-admin", userId: "u-b", ip: "10.0.0.2" });
    at(T0 + 20);
    log.record({ kind: "login_failed", ip: "10.0.0.1" });
    at(T0 + 30);
    log.record({ kind: "invite_created", actorId: "u-admin", ip: "10.0.0.2" });
    await log.flush();
    const kinds = async (f: Parameters<AuditLog["list"]>[0]) => (await log.list(f)).map((e) => e.kind);
    assert.deepEqual(await kinds({ limit: 10, from: T0 + 10, to: T0 + 30 }), [
      "login_failed",
      "account_disabled",
    ]);
    assert.deepEqual(await kinds({ limit: 10, kind: "login_failed" }), ["login_failed"]);
    assert.deepEqual(await kinds({ limit: 10, userId: "u-admin" }), ["invite_created", "account_disabled"]);
    assert.deepEqual(await kinds({ limit: 10, userId: "u-b" }), ["account_disabled"]);
    assert.deepEqual(await kinds({ limit: 10, ip: "10.0.0.1" }), ["login_failed", "login_succeeded"]);
    assert.deepEqual(await kinds({ limit: 10, ip: "10.0.0.1", kind: "invite_created" }), []);

    const first = await log.list({ limit: 3 });
    assert.equal(first.length, 3);
    const rest = await log.list({ limit: 3, before: first.at(-1)?.id as string });
    assert.deepEqual(
      rest.map((e) => e.kind),
      ["login_succeeded"],
    );
  });

  test("the sweep deletes only entries older than the retention", async (t) => {
    const { log, at } = await fresh(t);
    at(T0);
    log.record({ kind: "login_failed", details: { old: true } });
    at(T0 + 89 * DAY);
    log.record({ kind: "login_failed", details: { old: false } });
    await log.flush();
    at(T0 + 90 * DAY + 1);
    assert.equal(await log.sweep(), 1);
    const left = await log.list({ limit: 10 });
    assert.deepEqual(
      left.map((e) => e.details.old),
      [false],
    );
    assert.equal(await log.sweep(), 0);
  });

  test("two servers on one database write into one log", async (t) => {
    const location = await newLocation();
    const a = await open(location);
    t.after(() => a.close());
    const b = await open(location);
    t.after(() => b.close());
    const logA = new AuditLog({ store: a.audit, log: silent, nodeId: "node-a", retentionDays: 90 });
    const logB = new AuditLog({ store: b.audit, log: silent, nodeId: "node-b", retentionDays: 90 });
    logA.record({ kind: "login_succeeded", userId: "u1" });
    logB.record({ kind: "login_succeeded", userId: "u2" });
    await Promise.all([logA.flush(), logB.flush()]);
    const nodes = (await logA.list({ limit: 10 })).map((e) => e.node).sort();
    assert.deepEqual(nodes, ["node-a", "node-b"]);
  });

  test("an entry from a console command joins the same log", async (t) => {
    const { s, log } = await fresh(t);
    await s.audit.append(
      consoleAuditEntry({ kind: "role_changed", userId: "u1", details: { isAdmin: true } }, T0),
    );
    const [entry] = await log.list({ limit: 1 });
    assert.equal(entry?.node, "console");
    assert.equal(entry?.kind, "role_changed");
  });
}

describe("audit log on SQLite", () => {
  const files = new TestSqliteFiles("parley-audit-");
  after(() => files.removeAll());
  auditContract(() => files.migratedEmpty(), openSqliteStorage);
});

describePostgres("audit log on PostgreSQL", (baseUrl) => {
  const schemas = new TestSchemas(baseUrl);
  after(() => schemas.dropAll());
  auditContract(() => schemas.migratedEmpty(), openPostgresStorage);
});

describe("audit log", () => {
  test("a failed write is logged and never thrown to the caller", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const broken: AuditStore = {
      append: () => Promise.reject(new Error("disk gone")),
      list: () => Promise.resolve([]),
      purgeBefore: () => Promise.resolve(0),
    };
    const audit = new AuditLog({ store: broken, log, nodeId: "n", retentionDays: 1 });
    audit.record({ kind: "login_failed", ip: "10.0.0.9" });
    await audit.flush();
    assert.ok(lines.some((l) => l.event === "login_failed" && l.ip === "10.0.0.9"));
    assert.ok(lines.some((l) => l.event === "audit_write_failed" && l.kind === "login_failed"));
  });

  test("refuses a retention that is not a whole number of days", () => {
    const store = {} as AuditStore;
    assert.throws(() => new AuditLog({ store, log: silent, nodeId: "n", retentionDays: 0 }), RangeError);
    assert.throws(() => new AuditLog({ store, log: silent, nodeId: "n", retentionDays: 1.5 }), RangeError);
  });

  test("keeps a user agent short and free of control characters", () => {
    assert.equal(cleanUserAgent(undefined), null);
    assert.equal(cleanUserAgent("\u0000\u001b"), null);
    assert.equal(cleanUserAgent("Mozilla\r\n/5.0\u001b[31m"), "Mozilla/5.0[31m");
    assert.equal(cleanUserAgent("x".repeat(1000))?.length, 200);
  });
});
