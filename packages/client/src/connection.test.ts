import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate } from "node:timers/promises";
import type { ServerFrame } from "@parley/protocol";
import { Connection, type ConnectionOptions, type ConnectionStatus } from "./connection.js";
import { isParleyClientError, type ParleyClientError } from "./errors.js";
import type { Timers, WebSocketLike } from "./platform.js";
import { ServerList } from "./servers.js";

/** Timers that only move when the test says so. */
class FakeTimers implements Timers {
  now = 0;
  #next = 1;
  #tasks = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#tasks.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#tasks.delete(handle as number);
  }

  get pending(): number {
    return this.#tasks.size;
  }

  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.#tasks].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.#tasks.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
      await settle();
    }
    this.now = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await setImmediate();
}

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  readonly sent: Record<string, unknown>[] = [];
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code = 1005, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    (this.onclose as ((e: unknown) => void) | null)?.({ code, reason });
  }

  open(): void {
    this.readyState = 1;
    (this.onopen as ((e: unknown) => void) | null)?.({});
  }

  receive(frame: unknown): void {
    (this.onmessage as ((e: unknown) => void) | null)?.({
      data: typeof frame === "string" ? frame : JSON.stringify(frame),
    });
  }

  /** The server closes the socket. */
  drop(code: number, reason = ""): void {
    this.readyState = 3;
    (this.onclose as ((e: unknown) => void) | null)?.({ code, reason });
  }

  last(): Record<string, unknown> {
    return this.sent[this.sent.length - 1]!;
  }
}

const READY = {
  type: "ready",
  user: { id: "u1", username: "alice", isAdmin: false },
  sessionId: "s1",
  protocolVersion: 1,
  serverTime: 0,
  limits: { maxFrameBytes: 262144, messageRate: 10, messageBurst: 20 },
  mlsSuite: "x25519",
};

function setup(overrides: Partial<ConnectionOptions> = {}) {
  FakeSocket.all = [];
  const timers = new FakeTimers();
  const statuses: ConnectionStatus[] = [];
  const frames: ServerFrame[] = [];
  const errors: ParleyClientError[] = [];
  const tokenCalls: boolean[] = [];
  const signedOut: string[] = [];
  let readyCalls = 0;
  const conn = new Connection({
    servers: new ServerList("https://parley.test"),
    WebSocket: FakeSocket,
    token: async (refresh) => {
      tokenCalls.push(refresh);
      return refresh ? "fresh-token" : "token";
    },
    deviceId: () => "dev1",
    timers,
    backoff: { baseMs: 1000, maxMs: 8000, random: () => 0.5 },
    requestTimeoutMs: 5000,
    onReady: async () => {
      readyCalls++;
    },
    onFrame: (f) => frames.push(f),
    onStatus: (s) => statuses.push(s),
    onError: (e) => errors.push(e),
    onSignedOut: (code) => signedOut.push(code),
    ...overrides,
  });
  const socket = () => FakeSocket.all[FakeSocket.all.length - 1]!;
  /** Opens the current socket and completes authentication. */
  const connect = async () => {
    socket().open();
    await settle();
    socket().receive(READY);
    await settle();
  };
  return {
    conn,
    timers,
    statuses,
    frames,
    errors,
    tokenCalls,
    signedOut,
    socket,
    connect,
    readyCalls: () => readyCalls,
  };
}

test("authenticates with the token, the protocol version and the device id, then reports connected", async () => {
  const t = setup();
  t.conn.start();
  assert.equal(t.socket().url, "wss://parley.test/ws");
  t.socket().open();
  await settle();
  assert.deepEqual(t.socket().sent, [{ type: "auth", token: "token", protocolVersion: 1, deviceId: "dev1" }]);
  assert.equal(t.conn.ready, false);
  t.socket().receive(READY);
  await settle();
  assert.equal(t.conn.ready, true);
  assert.equal(t.readyCalls(), 1);
  assert.deepEqual(
    t.statuses.map((s) => s.state),
    ["connecting", "connected"],
  );
  t.conn.stop();
});

test("answers are matched to requests by rid, whatever their order", async () => {
  const t = setup();
  t.conn.start();
  await t.connect();
  const a = t.conn.request({ type: "room.list" }, "rooms");
  const b = t.conn.request({ type: "room.members", roomId: "ABCDEF" }, "members");
  const [ra, rb] = t.socket().sent.slice(1) as { rid: string }[];
  assert.notEqual(ra!.rid, rb!.rid);
  t.socket().receive({ type: "members", rid: rb!.rid, roomId: "ABCDEF", members: [] });
  t.socket().receive({ type: "rooms", rid: ra!.rid, rooms: [] });
  assert.deepEqual(await a, { type: "rooms", rid: ra!.rid, rooms: [] });
  assert.equal((await b).type, "members");
  t.conn.stop();
});

test("an error answer rejects with its registry code and fields", async () => {
  const t = setup();
  t.conn.start();
  await t.connect();
  const p = t.conn.request(
    { type: "mls.commit", roomId: "ABCDEF", epoch: 3, commit: "AA", groupInfo: "AA" },
    "mls.accepted",
  );
  const rid = t.socket().last().rid;
  t.socket().receive({ type: "error", rid, code: "stale_epoch", message: "m", epoch: 4 });
  await assert.rejects(p, (e) => isParleyClientError(e, "stale_epoch") && e.epoch === 4);
  t.conn.stop();
});

test("an answer of the wrong type rejects with unexpected_answer", async () => {
  const t = setup();
  t.conn.start();
  await t.connect();
  const p = t.conn.request({ type: "room.list" }, "rooms");
  t.socket().receive({ type: "ok", rid: t.socket().last().rid });
  await assert.rejects(p, (e) => isParleyClientError(e, "unexpected_answer"));
  t.conn.stop();
});

test("a rate-limited request is sent again after the server's delay", async () => {
  const t = setup();
  t.conn.start();
  await t.connect();
  const p = t.conn.request({ type: "room.list" }, "rooms");
  t.socket().receive({
    type: "error",
    rid: t.socket().last().rid,
    code: "rate_limited",
    message: "m",
    retryAfterMs: 300,
  });
  await settle();
  assert.equal(t.socket().sent.length, 2, "not resent before the delay");
  await t.timers.advance(300);
  assert.equal(t.socket().sent.length, 3);
  t.socket().receive({ type: "rooms", rid: t.socket().last().rid, rooms: [] });
  assert.equal((await p).type, "rooms");
  t.conn.stop();
});

test("requests wait for the connection, and fail with connection_lost when it drops before the answer", async () => {
  const t = setup();
  t.conn.start();
  const early = t.conn.request({ type: "room.list" }, "rooms");
  await settle();
  assert.equal(t.socket().sent.length, 0);
  await t.connect();
  assert.equal(t.socket().last().type, "room.list");
  t.socket().drop(1006);
  await assert.rejects(early, (e) => isParleyClientError(e, "connection_lost"));
  t.conn.stop();
});

test("a request without an answer fails with timeout", async () => {
  const t = setup();
  t.conn.start();
  await t.connect();
  const p = t.conn.request({ type: "room.list" }, "rooms", { timeoutMs: 100 });
  const assertion = assert.rejects(p, (e) => isParleyClientError(e, "timeout"));
  await t.timers.advance(100);
  await assertion;
  t.conn.stop();
});

test("reconnects after an abnormal close with backoff and jitter, and resets the backoff once connected", async () => {
  const t = setup();
  t.conn.start();
  await t.connect();
  t.socket().drop(1006);
  assert.deepEqual(t.statuses.at(-1), { state: "reconnecting", inMs: 500, attempt: 1, reason: "close_1006" });
  assert.equal(FakeSocket.all.length, 1);
  await t.timers.advance(499);
  assert.equal(FakeSocket.all.length, 1);
  await t.timers.advance(1);
  assert.equal(FakeSocket.all.length, 2);
  // It fails again before authenticating: the ceiling doubles.
  t.socket().drop(1006);
  assert.deepEqual(t.statuses.at(-1), {
    state: "reconnecting",
    inMs: 1000,
    attempt: 2,
    reason: "close_1006",
  });
  await t.timers.advance(1000);
  await t.connect();
  assert.equal(t.statuses.at(-1)?.state, "connected");
  t.socket().drop(1001, "server_shutting_down");
  assert.deepEqual(t.statuses.at(-1), {
    state: "reconnecting",
    inMs: 500,
    attempt: 1,
    reason: "server_shutting_down",
  });
  t.conn.stop();
});

test("after token_expired the next auth uses a refreshed token", async () => {
  const t = setup();
  t.conn.start();
  t.socket().open();
  await settle();
  t.socket().receive({ type: "error", code: "token_expired", message: "m" });
  t.socket().drop(4401, "token_expired");
  await t.timers.advance(500);
  t.socket().open();
  await settle();
  assert.deepEqual(t.tokenCalls, [false, true]);
  assert.equal(t.socket().sent[0]?.token, "fresh-token");
  t.conn.stop();
});

test("session_revoked ends the connection for good and reports the sign-out", async () => {
  const t = setup();
  t.conn.start();
  await t.connect();
  t.socket().drop(1008, "session_revoked");
  assert.deepEqual(t.signedOut, ["session_revoked"]);
  assert.deepEqual(t.statuses.at(-1), { state: "offline", reason: "session_revoked" });
  assert.equal(t.timers.pending, 0, "no reconnect is scheduled");
});

test("a protocol version mismatch is final: offline, no reconnect", async () => {
  const t = setup();
  t.conn.start();
  t.socket().open();
  await settle();
  t.socket().drop(4426, "unsupported_protocol_version");
  assert.deepEqual(t.statuses.at(-1), { state: "offline", reason: "unsupported_protocol_version" });
  assert.equal(t.timers.pending, 0);
  await assert.rejects(t.conn.whenReady(10), (e) => isParleyClientError(e, "not_connected"));
});

test("pushed frames go to onFrame; unknown types are skipped; invalid ones are reported", async () => {
  const t = setup();
  t.conn.start();
  await t.connect();
  t.socket().receive({ type: "presence", userId: "u2", username: "bob", online: true });
  t.socket().receive({ type: "some.future.frame", x: 1 });
  t.socket().receive({ type: "message", id: "m1" }); // no payload, ts, from
  t.socket().receive("{not json");
  t.socket().receive({ type: "presence", userId: "u2", username: "bob", online: true, __proto__: { x: 1 } });
  assert.equal(t.frames.length, 2);
  assert.equal(t.frames[0]?.type, "presence");
  assert.deepEqual(
    t.errors.map((e) => e.code),
    ["unexpected_answer", "unexpected_answer"],
  );
  t.conn.stop();
});

test("stop() fails pending requests with closed and leaves no timer behind", async () => {
  const t = setup();
  t.conn.start();
  await t.connect();
  const p = t.conn.request({ type: "room.list" }, "rooms");
  t.conn.stop();
  await assert.rejects(p, (e) => isParleyClientError(e, "closed"));
  assert.equal(t.timers.pending, 0);
  assert.deepEqual(t.statuses.at(-1), { state: "offline", reason: "closed" });
  t.conn.stop(); // does not throw if called twice
});

test("a failing set-up closes the socket and tries again with backoff", async () => {
  let fail = true;
  const t = setup({
    onReady: async () => {
      if (fail) throw new Error("register failed");
    },
  });
  t.conn.start();
  await t.connect();
  assert.equal(t.conn.ready, false);
  assert.equal(t.statuses.at(-1)?.state, "reconnecting");
  assert.equal(t.errors[0]?.code, "internal_error");
  fail = false;
  await t.timers.advance(500);
  await t.connect();
  assert.equal(t.conn.ready, true);
  t.conn.stop();
});

test("with several servers, a close saying the server went away sends the next attempt to the next server", async () => {
  const t = setup({ servers: new ServerList(["https://a.test", "https://b.test"]) });
  t.conn.start();
  assert.equal(t.socket().url, "wss://a.test/ws");
  await t.connect();
  assert.deepEqual(t.statuses.at(-1), { state: "connected", server: "https://a.test" });
  t.socket().drop(1006); // A was killed
  await t.timers.advance(500);
  assert.equal(t.socket().url, "wss://b.test/ws");
  await t.connect();
  assert.deepEqual(t.statuses.at(-1), { state: "connected", server: "https://b.test" });
  // B shuts down; A is back: the list wraps around.
  t.socket().drop(1001, "server_shutting_down");
  await t.timers.advance(500);
  assert.equal(t.socket().url, "wss://a.test/ws");
  t.conn.stop();
});

test("while every server is down, attempts rotate through them with growing backoff", async () => {
  const t = setup({ servers: new ServerList(["https://a.test", "https://b.test"]) });
  t.conn.start();
  const urls: string[] = [t.socket().url];
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    t.socket().drop(1006); // refused before opening
    const status = t.statuses.at(-1);
    assert.equal(status?.state, "reconnecting");
    if (status?.state === "reconnecting") delays.push(status.inMs);
    await t.timers.advance(status?.state === "reconnecting" ? status.inMs : 0);
    urls.push(t.socket().url);
  }
  assert.deepEqual(urls, [
    "wss://a.test/ws",
    "wss://b.test/ws",
    "wss://a.test/ws",
    "wss://b.test/ws",
    "wss://a.test/ws",
  ]);
  assert.deepEqual(delays, [500, 1000, 2000, 4000]);
  t.conn.stop();
});

test("closes about the client itself (token, policy, normal) do not change servers", async () => {
  const t = setup({ servers: new ServerList(["https://a.test", "https://b.test"]) });
  t.conn.start();
  await t.connect();
  for (const [code, reason] of [
    [4401, "token_expired"],
    [1000, ""],
    [4000, "heartbeat_timeout"],
    [4429, "too_many_connections"],
  ] as const) {
    t.socket().drop(code, reason);
    const status = t.statuses.at(-1);
    await t.timers.advance(status?.state === "reconnecting" ? status.inMs : 0);
    assert.equal(t.socket().url, "wss://a.test/ws", `after ${code} ${reason}`);
  }
  t.conn.stop();
});

test("a WebSocket constructor that throws counts as a failed server", async () => {
  let throwFor = "wss://a.test/ws";
  class Throwing extends FakeSocket {
    constructor(url: string) {
      if (url === throwFor) throw new SyntaxError("bad URL");
      super(url);
    }
  }
  const t = setup({ servers: new ServerList(["https://a.test", "https://b.test"]), WebSocket: Throwing });
  t.conn.start();
  assert.equal(t.statuses.at(-1)?.state, "reconnecting");
  assert.equal(t.errors[0]?.code, "not_connected");
  await t.timers.advance(500);
  assert.equal(t.socket().url, "wss://b.test/ws");
  throwFor = "";
  await t.connect();
  assert.equal(t.conn.ready, true);
  t.conn.stop();
});
