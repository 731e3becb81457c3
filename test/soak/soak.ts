/**
 * Soak: the real server as its own process under bounded mixed traffic and reconnect churn for
 * a fixed time, sampling its resident memory and open file descriptors. Reports the growth from
 * the first sample after warm-up to the last, and fails (exit 1) on an internal error, an
 * error-level log line or a server exit. Run with `npm run soak -- --minutes 60`.
 *
 * Traffic per tick (every `--tick-ms`, default 100 ms), spread over `--users` accounts that share
 * one public room: a room message from one user (every other member receives it), and by turns a
 * `room.list`, a `GET /api/me`, a direct message, a login, or closing one user's socket and
 * opening a new one (reconnect churn). Every loop is bounded by the deadline.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PROTOCOL_VERSION } from "@parley/protocol";
import { type ChildServer, processFigures, startChildServer } from "../integration/support/child-server.js";
import type { TestServer } from "../integration/support/harness.js";
import { login, registerUser, request } from "../integration/support/harness.js";
import { TestSocket } from "../integration/support/ws-client.js";

/** Generous waits: the soak measures growth, not speed, and shares a busy machine. */
const WAIT_MS = 60_000;
/** The soak stops early after this many failed steps. */
const MAX_FAILURES = 20;

async function authed(ts: TestServer, token: string): Promise<TestSocket> {
  const socket = await TestSocket.open(ts);
  socket.send({ type: "auth", token, protocolVersion: PROTOCOL_VERSION });
  await socket.next("ready", WAIT_MS);
  return socket;
}

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "60" },
    users: { type: "string", default: "20" },
    "tick-ms": { type: "string", default: "100" },
    "sample-s": { type: "string", default: "30" },
    "warmup-s": { type: "string", default: "120" },
  },
});
const minutes = Number(values.minutes);
const userCount = Number(values.users);
const tickMs = Number(values["tick-ms"]);
const sampleMs = Number(values["sample-s"]) * 1000;
const warmupMs = Number(values["warmup-s"]) * 1000;

interface Sample {
  atS: number;
  rssMiB: number;
  fds: number;
}

const counts = {
  messages: 0,
  delivered: 0,
  directs: 0,
  lists: 0,
  me: 0,
  logins: 0,
  reconnects: 0,
  refreshes: 0,
  errors: 0,
};
const failures: string[] = [];

function payload(n: number): string {
  return Buffer.from(`soak-${n}-${"x".repeat(n % 200)}`).toString("base64");
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-soak-"));
  let server: ChildServer | null = null;
  const sockets: TestSocket[] = [];
  try {
    server = await startChildServer(dataDir, {
      PARLEY_AUTH_RATE: "100000",
      PARLEY_LOG_LEVEL: "info",
    });
    const srv = server;
    const { ts } = srv;
    const users: Awaited<ReturnType<typeof registerUser>>[] = [];
    for (let i = 0; i < userCount; i++) users.push(await registerUser(ts, `soak${i}x${process.pid}`));
    for (const u of users) sockets.push(await authed(ts, u.accessToken));
    const first = sockets[0] as TestSocket;
    const created = await first.call({ type: "room.create", name: "soak", isPublic: true });
    if (created.type !== "room") throw new Error(`room.create answered ${created.type}`);
    const roomId = created.room.id;
    for (const s of sockets.slice(1)) await s.call({ type: "room.join", roomId });
    const tokens = users.map((u) => u.accessToken);
    // As a real client does, each user refreshes its 15-minute access token before it runs out
    // (rotating the refresh token); without this every reconnect after 15 minutes failed.
    const refreshTokens = users.map((u) => u.refreshToken);
    const expiresAt = users.map((u) => u.accessTokenExpiresAt);
    const fresh = async (i: number): Promise<string> => {
      if ((expiresAt[i] ?? 0) - Date.now() > 120_000) return tokens[i] as string;
      const res = await request<Awaited<ReturnType<typeof registerUser>>>(ts, "POST", "/api/token/refresh", {
        body: { refreshToken: refreshTokens[i] },
      });
      if (res.status !== 200) throw new Error(`refresh answered ${res.status}`);
      tokens[i] = res.body.accessToken;
      refreshTokens[i] = res.body.refreshToken;
      expiresAt[i] = res.body.accessTokenExpiresAt;
      counts.refreshes += 1;
      return tokens[i] as string;
    };

    const started = Date.now();
    const deadline = started + minutes * 60_000;
    const samples: Sample[] = [];
    const sample = async () => {
      const f = await processFigures(srv.pid);
      samples.push({
        atS: Math.round((Date.now() - started) / 1000),
        rssMiB: f.rssBytes / 2 ** 20,
        fds: f.fds,
      });
      const s = samples[samples.length - 1] as Sample;
      console.log(`t=${s.atS}s rss=${s.rssMiB.toFixed(1)} MiB fds=${s.fds} ${JSON.stringify(counts)}`);
    };
    await sample();
    let nextSample = started + sampleMs;
    const answer = (f: { type: string; code?: string }, what: string) => {
      if (f.type === "error") {
        counts.errors += 1;
        if (f.code === "internal_error") failures.push(`${what} answered internal_error`);
      }
    };

    for (let tick = 0; Date.now() < deadline && failures.length < MAX_FAILURES; tick++) {
      if (srv.child.exitCode !== null) throw new Error(`server exited with ${srv.child.exitCode}`);
      try {
        await step(tick);
      } catch (e) {
        failures.push(`tick ${tick}: ${e instanceof Error ? e.message : String(e)}`);
        const i = tick % userCount;
        if (sockets[i]?.ws.readyState !== sockets[i]?.ws.OPEN) {
          sockets[i] = await authed(ts, await fresh(i)).catch(() => sockets[i] as TestSocket);
        }
      }
      if (Date.now() >= nextSample) {
        await sample();
        nextSample += sampleMs;
      }
      await new Promise((r) => setTimeout(r, tickMs));
    }

    async function step(tick: number): Promise<void> {
      const i = tick % userCount;
      const s = sockets[i] as TestSocket;
      const sent = await s.call(
        { type: "message.send", to: { room: roomId }, payload: payload(tick) },
        WAIT_MS,
      );
      answer(sent, "message.send");
      if (sent.type === "ack") counts.messages += 1;
      // Other members' copies pile up in their sockets' buffers: count and drop them.
      for (const other of sockets) {
        const before = other.frames.length;
        other.frames.splice(0, before);
        counts.delivered += before;
      }
      switch (tick % 10) {
        case 1: {
          answer(await s.call({ type: "room.list" }, WAIT_MS), "room.list");
          counts.lists += 1;
          break;
        }
        case 3: {
          const me = await request(ts, "GET", "/api/me", { token: await fresh(i) });
          if (me.status >= 500) failures.push(`GET /api/me answered ${me.status}`);
          counts.me += 1;
          break;
        }
        case 5: {
          const to = users[(i + 1) % userCount]?.user.id as string;
          answer(
            await s.call({ type: "message.send", to: { user: to }, payload: payload(tick + 1) }, WAIT_MS),
            "direct",
          );
          counts.directs += 1;
          break;
        }
        case 7: {
          if (tick % 50 === 7) {
            const res = await login(ts, users[i]?.user.username as string);
            if (res.status !== 200) failures.push(`login answered ${res.status}`);
            else {
              tokens[i] = res.body.accessToken;
              refreshTokens[i] = res.body.refreshToken;
              expiresAt[i] = res.body.accessTokenExpiresAt;
            }
            counts.logins += 1;
          }
          break;
        }
        case 9: {
          // Reconnect churn: the user's socket goes away and a new one comes.
          s.close();
          await s.closed;
          sockets[i] = await authed(ts, await fresh(i));
          counts.reconnects += 1;
          break;
        }
      }
    }
    await sample();
    const errorLogs = srv.events.filter((e) => typeof e.level === "number" && e.level >= 50);
    for (const e of errorLogs.slice(0, 5)) failures.push(`error log: ${JSON.stringify(e).slice(0, 300)}`);
    const afterWarmup = samples.filter((s) => s.atS * 1000 >= warmupMs);
    const base = afterWarmup[0] ?? (samples[0] as Sample);
    const last = samples[samples.length - 1] as Sample;
    const peak = samples.reduce((a, b) => (b.rssMiB > a.rssMiB ? b : a));
    const report = {
      minutes: Math.round(((Date.now() - started) / 60_000) * 10) / 10,
      users: userCount,
      counts,
      rssMiB: { start: samples[0]?.rssMiB, afterWarmup: base.rssMiB, end: last.rssMiB, peak: peak.rssMiB },
      rssGrowthAfterWarmupMiB: last.rssMiB - base.rssMiB,
      fds: { start: samples[0]?.fds, afterWarmup: base.fds, end: last.fds },
      fdGrowthAfterWarmup: last.fds - base.fds,
      errorLogLines: errorLogs.length,
      failures,
    };
    console.log(JSON.stringify(report, null, 2));
    if (failures.length > 0) process.exitCode = 1;
  } finally {
    for (const s of sockets) s.close();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
