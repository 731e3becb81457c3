import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import type { TotpEnrolment } from "@parley/protocol";
import type { Config } from "@parley/server";
import { Secret, TOTP } from "otpauth";
import { CLI, NODE_ARGS, ROOT } from "./support/cli.js";
import {
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
} from "./support/harness.js";
import { TmuxSession, haveTmux as tmuxInstalled } from "./support/tmux.js";

// Issue 19 parts 4 and 5 in `parley chat` on a real terminal (tmux): a login that asks for the
// authenticator code after the password (PROTOCOL.md AUTH-14), and the warning when the server's
// signed policy changed since it was pinned (POLICY-2), acknowledged with /server accept.

let tmp: string;
let dataDir: string;
let haveTmux = true;
let term: TmuxSession;
const servers: TestServer[] = [];
let now = Date.UTC(2026, 5, 1);

const codeAt = (secret: string, timestamp: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).generate({
    timestamp,
  });
const shows = (text: string) => (rows: string[]) => rows.some((r) => r.includes(text));
const waitScreen = (check: (rows: string[]) => boolean, what: string, ms?: number) =>
  term.waitFor(check, ms, what);

async function start(overrides: Partial<Config> = {}): Promise<TestServer> {
  const ts = await startTestServer(
    { bruteForceMaxFailures: 1_000, ...overrides },
    { dataDir, totpClock: () => now },
  );
  servers.push(ts);
  return ts;
}

before(async () => {
  haveTmux = await tmuxInstalled();
  if (!haveTmux) return;
  tmp = await mkdtemp(join(tmpdir(), "parley-totp-tmux-"));
  dataDir = join(tmp, "server");
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
});

after(async () => {
  await term?.kill();
  for (const ts of servers) await ts.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it("signs in with an authenticator code, and warns when the server's policy changed", async (t) => {
  if (!haveTmux) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  const first = await start();
  const s = await registerUser(first);
  const name = s.user.username;
  const enrolment = await request<TotpEnrolment>(first, "POST", "/api/totp/enrol", {
    token: s.accessToken,
    body: { password: STRONG_PASSWORD },
  });
  const secret = enrolment.body.secret;
  const on = await request(first, "POST", "/api/totp/confirm", {
    token: s.accessToken,
    body: { code: codeAt(secret, now) },
  });
  assert.equal(on.status, 200, on.text);
  now += 60_000;

  const command = [process.execPath, ...NODE_ARGS, CLI, "chat", first.url].map((a) => `'${a}'`).join(" ");
  await term.start(command, ROOT);
  await waitScreen(shows("Trust this server and remember its CA? [y/N]"), "the TOFU question", 60_000);
  await term.type("y", true);
  await waitScreen(shows("pinned this server's signed policy"), "the policy pinned on first use", 30_000);
  await term.type(`/login ${name}`, true);
  await waitScreen(shows(`Password for ${name}:`), "the password question");
  await term.type(STRONG_PASSWORD, true);
  await waitScreen(shows("Authenticator code (or a recovery code):"), "the code question", 30_000);
  await term.type(codeAt(secret, now) === "123456" ? "654321" : "123456", true);
  await waitScreen(shows("Wrong, used or expired authenticator code. Try again."), "the wrong code");
  await term.type(codeAt(secret, now), true);
  await waitScreen(shows(`signed in as ${name}`), "signed in", 30_000);
  await term.type("/2fa", true);
  await waitScreen(shows("two-step sign-in is on; 10 recovery codes left"), "the 2fa status");
  // Ends the chat (and with it the terminal's session) before the server goes away.
  await term.kill();

  // The operator restarts the server with the offline queue on.
  await first.stop();
  const second = await start({ port: first.server.port, offlineQueue: "on" });
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  await term.start(
    [process.execPath, ...NODE_ARGS, CLI, "chat", second.url].map((a) => `'${a}'`).join(" "),
    ROOT,
  );
  await waitScreen(shows("this server's policy changed:"), "the policy warning", 60_000);
  // The line wraps at the terminal's width.
  const rows = await waitScreen(
    shows("Messages: never stored on the server → kept (ciphertext)"),
    "what changed",
  );
  assert.match(rows.join(" ").replace(/\s+/g, " "), /for offline devices up to 7 days/);
  await term.type("/server accept", true);
  await waitScreen(shows("acknowledged: the server's current policy is pinned"), "the acknowledgement");
  await term.type("/server", true);
  // The fingerprint row is printed unwrapped: the terminal folds it without adding spaces.
  await waitScreen(
    (r) => r.join("").includes(`policy key SHA-256: ${second.server.policyKeyFingerprint}`),
    "the /server panel",
  );
});

it("warns at a reconnect, without a restart of the chat, when the server comes back changed", async (t) => {
  if (!haveTmux) {
    if (process.env.PARLEY_REQUIRE_SERVICES === "1")
      assert.fail("tmux is missing (scripts/ensure-services.sh installs it)");
    t.skip("tmux is not installed");
    return;
  }
  // The first test left the server running with the offline queue on, acknowledged.
  const queued = servers.at(-1);
  assert.ok(queued);
  const s = await registerUser(queued);
  await term.kill();
  term = new TmuxSession({ HOME: tmp, XDG_CONFIG_HOME: join(tmp, ".config") });
  await term.start(
    [process.execPath, ...NODE_ARGS, CLI, "chat", queued.url].map((a) => `'${a}'`).join(" "),
    ROOT,
  );
  await term.type(`/login ${s.user.username}`, true);
  await waitScreen(shows(`Password for ${s.user.username}:`), "the password question", 30_000);
  await term.type(STRONG_PASSWORD, true);
  await waitScreen(shows(`signed in as ${s.user.username}`), "signed in", 30_000);
  assert.equal(
    (await term.screen()).some((r) => r.includes("policy changed")),
    false,
    "as pinned",
  );

  // The operator restarts it with the queue off again; the chat reconnects by itself.
  await queued.stop();
  const plain = await start({ port: queued.server.port, offlineQueue: "off" });
  await waitScreen(shows("connected again"), "the reconnect", 60_000);
  await waitScreen(shows("this server's policy changed:"), "the policy warning at the reconnect", 60_000);
  const rows = await waitScreen(shows("Messages: kept (ciphertext)"), "what changed");
  assert.match(rows.join(" ").replace(/\s+/g, " "), /→ never stored on the server/);
  await term.type("/server", true);
  await waitScreen(shows("this account's two-step sign-in: off"), "the account's TOTP in /server");
  await term.type("/server accept", true);
  await waitScreen(shows("acknowledged: the server's current policy is pinned"), "the acknowledgement");
  assert.ok(plain.server.policyKeyFingerprint);
});
