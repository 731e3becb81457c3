import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Secret, TOTP } from "otpauth";
import { fingerprintRows } from "../../packages/cli/src/fingerprint-rows.js";
import { lines, parley, type Run } from "./support/cli.js";
import {
  login,
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
} from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

// `parley admin` as a child process against real servers on 127.0.0.1: the admin API over
// HTTPS, trust on first use of the server's CA, and promote/demote on the server's database.

const WRONG_FP =
  "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

interface AdminRunOptions {
  server?: TestServer;
  user?: string;
  password?: string;
  configDir?: string;
  env?: Record<string, string>;
}

/** `parley admin <args> --url … --user … --config-dir …` with PARLEY_PASSWORD set. */
function admin(args: string[], o: AdminRunOptions = {}): Promise<Run> {
  const server = o.server ?? ts;
  return parley(
    [
      "admin",
      ...args,
      "--url",
      server.url,
      "--user",
      o.user ?? "boss",
      "--config-dir",
      o.configDir ?? configDir,
    ],
    { PARLEY_PASSWORD: o.password ?? STRONG_PASSWORD, ...o.env },
  );
}

/** Turns two-step sign-in on for `username` as they would (enrol, then confirm with a code). */
async function enrolTotp(username: string): Promise<{ token: string; recoveryCodes: string[] }> {
  const s = await login(ts, username);
  const token = (s.body as { accessToken: string }).accessToken;
  const begun = await request<{ secret: string }>(ts, "POST", "/api/totp/enrol", {
    token,
    body: { password: STRONG_PASSWORD },
  });
  assert.equal(begun.status, 200, begun.text);
  const code = new TOTP({ secret: Secret.fromBase32(begun.body.secret) }).generate();
  const on = await request<{ recoveryCodes: string[] }>(ts, "POST", "/api/totp/confirm", {
    token,
    body: { code },
  });
  assert.equal(on.status, 200, on.text);
  return { token, recoveryCodes: on.body.recoveryCodes };
}

/** POST /api/login from a chosen loopback source address (so an IP block spares 127.0.0.1). */
function loginFrom(localAddress: string, username: string, password: string) {
  return new Promise<{ status: number; body: { code?: string } }>((resolve, reject) => {
    const payload = JSON.stringify({ username, password });
    const req = httpsRequest(
      new URL("/api/login", ts.url),
      {
        method: "POST",
        localAddress,
        ca: ts.ca ?? "",
        agent: false,
        headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { code?: string } }),
        );
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

interface PinFile {
  version: number;
  servers: Record<string, { caFingerprint: string; pinnedAt: string }>;
}

async function readPins(dir = configDir): Promise<PinFile> {
  return JSON.parse(await readFile(join(dir, "known_servers.json"), "utf8")) as PinFile;
}

let tmp: string;
let dataDir: string;
let configDir: string;
let ts: TestServer;
let other: TestServer | undefined;
let promoted: Run;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "parley-cli-admin-"));
  dataDir = join(tmp, "data");
  configDir = join(tmp, "config", "parley");
  // Accounts are made while registration is open, the first admin locally, then the server
  // restarts in invite mode on the same data dir.
  const open = await startTestServer({ registration: "open" }, { dataDir });
  try {
    await registerUser(open, "boss");
    await registerUser(open, "pat");
  } finally {
    await open.stop();
  }
  promoted = await parley(["admin", "promote", "boss", "--data-dir", dataDir]);
  ts = await startTestServer({ registration: "invite" }, { dataDir });
});

after(async () => {
  await Promise.all([ts?.stop(), other?.stop()]);
  await rm(tmp, { recursive: true, force: true });
});

describe("parley admin", () => {
  it("promote makes the first admin on the server's own database", () => {
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.equal(promoted.stdout, "boss is now an admin\n");
  });

  it("pins the server's CA fingerprint on the first use of its URL, in a 0600 file", async () => {
    const run = await admin(["users"]);
    assert.equal(run.code, 0, run.stderr);
    const fingerprint = ts.server.caFingerprint ?? "";
    for (const row of fingerprintRows("  SHA-256 ", fingerprint))
      assert.ok(lines(run.stderr).includes(row), `the fingerprint is shown in whole bytes: ${run.stderr}`);
    const pins = await readPins();
    assert.equal(pins.servers[ts.url]?.caFingerprint, fingerprint);
    assert.equal((await stat(join(configDir, "known_servers.json"))).mode & 0o777, 0o600);
  });

  it("invite creates a code that then works for registration in invite mode, once", async () => {
    const run = await admin(["invite", "--json", "--ttl-hours", "2"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "", "a pinned server is used without a word");
    const invite = JSON.parse(run.stdout) as { code: string; expiresAt: number };
    assert.match(invite.code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    assert.ok(Math.abs(invite.expiresAt - (Date.now() + 2 * 3_600_000)) < 120_000);

    const without = await request<{ code: string }>(ts, "POST", "/api/register", {
      body: { username: "newbie", password: STRONG_PASSWORD },
    });
    assert.equal(without.body.code, "invite_required");
    const registered = await request(ts, "POST", "/api/register", {
      body: { username: "newbie", password: STRONG_PASSWORD, inviteCode: invite.code },
    });
    assert.equal(registered.status, 201, registered.text);
    const again = await request<{ code: string }>(ts, "POST", "/api/register", {
      body: { username: "newbie2", password: STRONG_PASSWORD, inviteCode: invite.code },
    });
    assert.equal(again.body.code, "invite_invalid");
  });

  it("users --json lists every account with its role and state", async () => {
    const run = await admin(["users", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const { users } = JSON.parse(run.stdout) as {
      users: { username: string; isAdmin: boolean; disabled: boolean }[];
    };
    assert.deepEqual(
      users.map((u) => [u.username, u.isAdmin, u.disabled]),
      [
        ["boss", true, false],
        ["newbie", false, false],
        ["pat", false, false],
      ],
    );
  });

  it("disable refuses the account's logins and enable lets it back in", async () => {
    const disabled = await admin(["disable", "pat"]);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /^pat disabled/);
    const refused = await request<{ code: string }>(ts, "POST", "/api/login", {
      body: { username: "pat", password: STRONG_PASSWORD },
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, "account_disabled");

    const enabled = await admin(["enable", "PAT"]);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal(enabled.stdout, "pat enabled\n");
    const back = await request(ts, "POST", "/api/login", {
      body: { username: "pat", password: STRONG_PASSWORD },
    });
    assert.equal(back.status, 200, back.text);
  });

  it("blocks lists an address blocked for failed logins and unblock lifts it", async () => {
    let blocked = false;
    for (let i = 0; i < 8 && !blocked; i += 1) {
      const res = await loginFrom("127.0.0.2", `nobody${i}`, "Wrong-Password-123!");
      blocked = res.body.code === "ip_blocked";
    }
    assert.ok(blocked, "127.0.0.2 got blocked");

    const listed = await admin(["blocks", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const { blocks } = JSON.parse(listed.stdout) as { blocks: { ip: string; retryAfterMs: number }[] };
    assert.deepEqual(
      blocks.map((b) => b.ip),
      ["127.0.0.2"],
    );

    const lifted = await admin(["unblock", "127.0.0.2"]);
    assert.equal(lifted.code, 0, lifted.stderr);
    const text = await admin(["blocks"]);
    assert.equal(text.stdout, "no blocked addresses\n");
    const res = await loginFrom("127.0.0.2", "pat", STRONG_PASSWORD);
    assert.equal(res.status, 200);
  });

  it("delete-room deletes a room for everyone", async () => {
    const pat = await login(ts, "pat");
    const socket = await TestSocket.authed(ts, pat.body.accessToken);
    const created = (await socket.call({ type: "room.create", name: "to go", isPublic: true })) as {
      room: { id: string };
    };
    const told = socket.waitFor(
      (f) => f.type === "room.event" && (f as { event: string }).event === "deleted",
    );
    const run = await admin(["delete-room", created.room.id]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `room ${created.room.id} deleted\n`);
    assert.equal((await told).type, "room.event");
    const again = await admin(["delete-room", created.room.id]);
    assert.equal(again.code, 1, "a room that is gone is an error");
    socket.close();
  });

  it("invite --uses makes a code for several accounts; invites lists it and revoke-invite ends it", async () => {
    const made = await admin(["invite", "--json", "--uses", "2"]);
    assert.equal(made.code, 0, made.stderr);
    const invite = JSON.parse(made.stdout) as { id: string; code: string; maxUses: number };
    assert.equal(invite.maxUses, 2);
    const register = (username: string) =>
      request<{ code: string }>(ts, "POST", "/api/register", {
        body: { username, password: STRONG_PASSWORD, inviteCode: invite.code },
      });
    assert.equal((await register("many1")).status, 201);

    const listed = await admin(["invites", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const { invites } = JSON.parse(listed.stdout) as {
      invites: {
        id: string;
        uses: number;
        usesLeft: number;
        status: string;
        createdBy: { username: string };
      }[];
    };
    const mine = invites.find((i) => i.id === invite.id);
    assert.deepEqual(
      [mine?.uses, mine?.usesLeft, mine?.status, mine?.createdBy.username],
      [1, 1, "active", "boss"],
    );
    assert.ok(!listed.stdout.includes(invite.code), "the code is never listed");
    const table = await admin(["invites"]);
    assert.match(table.stdout, new RegExp(`^${invite.id}  1/2 +1 +active `, "m"));

    const revoked = await admin(["revoke-invite", invite.id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `invite ${invite.id} revoked\n`);
    assert.equal((await register("many2")).body.code, "invite_invalid");
    const again = await admin(["revoke-invite", invite.id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /\(invite_not_found\)/);
    const bad = await admin(["invite", "--uses", "0"]);
    assert.equal(bad.code, 2, "--uses 0 is a usage error");
  });

  it("role makes an account an admin and back, and never demotes the last admin", async () => {
    const up = await admin(["role", "pat", "admin"]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, "pat is an admin\n");
    assert.equal((await admin(["users"], { user: "pat" })).code, 0, "pat may use the admin API");
    const down = await admin(["role", "pat", "member"]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, "pat is no longer an admin\n");
    assert.equal((await admin(["users"], { user: "pat" })).code, 1, "pat may not any more");
    const last = await admin(["role", "boss", "member"]);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /\(last_admin\)$/m);
    assert.equal((await admin(["role", "pat", "boss"])).code, 2, "admin or member only");
  });

  it("rooms lists every room with size and owner; stats and settings print the server's figures", async () => {
    const pat = await login(ts, "pat");
    const socket = await TestSocket.authed(ts, pat.body.accessToken);
    const created = (await socket.call({ type: "room.create", name: "listed", isPublic: false })) as {
      room: { id: string };
    };
    const rooms = await admin(["rooms", "--json"]);
    assert.equal(rooms.code, 0, rooms.stderr);
    const listed = (
      JSON.parse(rooms.stdout) as {
        rooms: { id: string; members: number; isPublic: boolean; owner: { username: string } }[];
      }
    ).rooms.find((r) => r.id === created.room.id);
    assert.deepEqual([listed?.members, listed?.isPublic, listed?.owner.username], [1, false, "pat"]);
    const table = await admin(["rooms"]);
    assert.match(table.stdout, new RegExp(`^${created.room.id}  listed +private +1 +pat$`, "m"));

    const stats = await admin(["stats", "--json"]);
    assert.equal(stats.code, 0, stats.stderr);
    const figures = JSON.parse(stats.stdout) as { connections: number; rooms: number; onlinePeople: number };
    assert.ok(figures.connections >= 1 && figures.onlinePeople >= 1, stats.stdout);
    assert.ok(figures.rooms >= 1, stats.stdout);
    assert.match((await admin(["stats"])).stdout, /^messages per minute +\d+$/m);

    const settings = await admin(["settings"]);
    assert.equal(settings.code, 0, settings.stderr);
    assert.match(settings.stdout, /^PARLEY_REGISTRATION=invite$/m);
    assert.match(settings.stdout, /^PARLEY_METRICS_TOKEN=/m);
    socket.close();
  });

  it("sign-out ends every session of an account and closes its sockets", async () => {
    const pat = await login(ts, "pat");
    const socket = await TestSocket.authed(ts, pat.body.accessToken);
    const run = await admin(["sign-out", "pat"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "pat signed out everywhere\n");
    await socket.closed;
    const refused = await request<{ code: string }>(ts, "GET", "/api/admin/users", {
      token: pat.body.accessToken,
    });
    assert.equal(refused.status, 401);
    assert.equal((await login(ts, "pat")).status, 200, "pat may sign in again");
  });

  it("gives a non-admin one line and exit 1", async () => {
    const run = await admin(["users"], { user: "pat" });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, /^parley admin: .*\(admin_required\)$/m);
  });

  it("gives a wrong password one line and exit 1", async () => {
    const run = await admin(["users"], { password: "Not-The-Password-1!" });
    assert.equal(run.code, 1);
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, /\(invalid_credentials\)/);
  });

  it("asks for PARLEY_PASSWORD when there is no terminal to prompt on (exit 2)", async () => {
    const run = await parley([
      "admin",
      "users",
      "--url",
      ts.url,
      "--user",
      "boss",
      "--config-dir",
      configDir,
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^parley admin: no password: set PARLEY_PASSWORD/);
  });

  it("refuses a server whose CA fingerprint changed with exit 3, until --accept-new-fingerprint", async () => {
    const pins = await readPins();
    const entry = pins.servers[ts.url];
    assert.ok(entry);
    entry.caFingerprint = WRONG_FP;
    await writeFile(join(configDir, "known_servers.json"), JSON.stringify(pins));

    const refused = await admin(["users"]);
    assert.equal(refused.code, 3, refused.stderr);
    assert.equal(refused.stdout, "");
    assert.match(
      refused.stderr,
      /^parley admin: REFUSED: the CA fingerprint of https:\/\/127\.0\.0\.1:\d+ changed/,
    );
    // Both fingerprints, each in rows of whole bytes under its label.
    for (const row of fingerprintRows("pinned:  ", WRONG_FP))
      assert.ok(refused.stderr.includes(row), `the pinned fingerprint is shown: ${refused.stderr}`);
    for (const row of fingerprintRows("offered: ", ts.server.caFingerprint ?? "?"))
      assert.ok(refused.stderr.includes(row), `the offered fingerprint is shown: ${refused.stderr}`);
    assert.equal((await readPins()).servers[ts.url]?.caFingerprint, WRONG_FP, "the pin is left alone");

    const accepted = await admin(["users", "--accept-new-fingerprint"]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal((await readPins()).servers[ts.url]?.caFingerprint, ts.server.caFingerprint);
  });

  it("pins a second server, with its own CA, under its own URL", async () => {
    other = await startTestServer();
    const session = await registerUser(other, "boss");
    await other.server.storage.setUserAdmin(session.user.id as never, true);
    const run = await admin(["users", "--json"], { server: other });
    assert.equal(run.code, 0, run.stderr);
    const pins = await readPins();
    assert.notEqual(other.server.caFingerprint, ts.server.caFingerprint);
    assert.equal(pins.servers[other.url]?.caFingerprint, other.server.caFingerprint);
    assert.equal(pins.servers[ts.url]?.caFingerprint, ts.server.caFingerprint);
  });

  it("trusts --ca FILE without pinning, and refuses a server that CA did not sign (exit 3)", async () => {
    const freshConfig = join(tmp, "fresh-config");
    const caFile = join(dataDir, "tls", "ca.crt");
    const ok = await parley(
      ["admin", "users", "--url", ts.url, "--user", "boss", "--ca", caFile, "--config-dir", freshConfig],
      { PARLEY_PASSWORD: STRONG_PASSWORD },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, "");
    await assert.rejects(stat(join(freshConfig, "known_servers.json")), { code: "ENOENT" });

    assert.ok(other, "the second server runs");
    const wrong = await parley(
      ["admin", "users", "--url", other.url, "--user", "boss", "--ca", caFile, "--config-dir", freshConfig],
      { PARLEY_PASSWORD: STRONG_PASSWORD },
    );
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.equal(lines(wrong.stderr).length, 1, wrong.stderr);
  });

  it("block refuses an address's logins and blocks says who blocked it, why, and failed sign-ins apart", async () => {
    const made = await admin(["block", "127.0.0.3", "--minutes", "10", "--note", "noisy scanner"]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.stdout, "127.0.0.3 blocked for 10 min\n");
    assert.equal((await loginFrom("127.0.0.3", "pat", STRONG_PASSWORD)).body.code, "ip_blocked");
    let guessed = false;
    for (let i = 0; i < 8 && !guessed; i += 1) {
      const res = await loginFrom("127.0.0.4", `nobody${i}`, "Wrong-Password-123!");
      guessed = res.body.code === "ip_blocked";
    }
    assert.ok(guessed, "127.0.0.4 got blocked");

    const text = await admin(["blocks"]);
    assert.equal(text.code, 0, text.stderr);
    const rows = lines(text.stdout);
    assert.match(rows[0] ?? "", /^127\.0\.0\.3 {2}blocked for \d+ s more {2}\(by boss: noisy scanner\)$/);
    assert.match(rows[1] ?? "", /^127\.0\.0\.4 {2}blocked for \d+ s more {2}\(failed sign-ins\)$/);
    const json = JSON.parse((await admin(["blocks", "--json"])).stdout) as {
      blocks: { ip: string; reason: string; note: string | null; blockedBy: { username: string } | null }[];
    };
    assert.deepEqual(
      json.blocks.map((b) => [b.ip, b.reason, b.note, b.blockedBy?.username ?? null]),
      [
        ["127.0.0.3", "admin", "noisy scanner", "boss"],
        ["127.0.0.4", "brute_force", null, null],
      ],
    );
    for (const ip of ["127.0.0.3", "127.0.0.4"]) assert.equal((await admin(["unblock", ip])).code, 0);
    assert.equal((await loginFrom("127.0.0.3", "pat", STRONG_PASSWORD)).status, 200);

    const usage = await admin(["block", "127.0.0.3"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--minutes/);
    const bad = await admin(["block", "127.0.0.3", "--minutes", "99999"]);
    assert.equal(bad.code, 2);
  });

  it("clear-totp turns two-step sign-in off for a locked-out person and ends their sessions", async () => {
    const { token } = await enrolTotp("pat");
    assert.match((await admin(["users"])).stdout, /^pat +no +no +on /m);

    const cleared = await admin(["clear-totp", "pat"]);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.match(cleared.stdout, /^two-step sign-in cleared for pat \(\d+ sessions? ended\)\n$/);
    assert.equal((await request(ts, "GET", "/api/me", { token })).status, 401, "pat's session ended");
    const again = await login(ts, "pat");
    assert.ok((again.body as { accessToken?: string }).accessToken, "the password alone signs in");
    assert.match((await admin(["users"])).stdout, /^pat +no +no +off /m);

    const twice = await admin(["clear-totp", "pat"]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /\(totp_not_enabled\)$/m);
    const self = await admin(["clear-totp", "boss"]);
    assert.match(self.stderr, /\(invalid_target\)$/m);
  });

  it("signs an admin with two-step sign-in in with their code or a recovery code, and refuses a wrong one", async () => {
    assert.equal((await admin(["role", "pat", "admin"])).code, 0);
    const { recoveryCodes } = await enrolTotp("pat");
    const recovery = recoveryCodes[0] ?? assert.fail("no recovery codes");

    // No code and no terminal to ask on: a usage error that names the variable.
    const none = await admin(["users"], { user: "pat" });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /PARLEY_TOTP_CODE/);
    const wrong = await admin(["users"], { user: "pat", env: { PARLEY_TOTP_CODE: "000000" } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /\(totp_invalid\)/);
    // The recovery code first: the code the confirmation used is spent for its 30 s step.
    const byRecovery = await admin(["users"], { user: "pat", env: { PARLEY_TOTP_CODE: recovery } });
    assert.equal(byRecovery.code, 0, byRecovery.stderr);
    assert.match(byRecovery.stdout, /^pat +yes +no +on /m);
    const spent = await admin(["users"], { user: "pat", env: { PARLEY_TOTP_CODE: recovery } });
    assert.equal(spent.code, 1, "a recovery code works once");
  });
});
