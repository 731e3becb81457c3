import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PROTOCOL_VERSION } from "@parley/protocol";
import WebSocket from "ws";
import { registerUser, startTestServer, type TestServer } from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

const BOUND = 5_000;

function within<T>(p: Promise<T>, ms = BOUND, what = "event"): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

describe("WebSocket gateway", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      authTimeoutMs: 300,
      maxFrameBytes: 4096,
      frameRate: 5,
      frameBurst: 5,
      maxConnectionsPerUser: 2,
    });
  });
  after(() => ts.stop());

  test("authenticates with an auth frame and answers ready with the user and limits", async () => {
    const alice = await registerUser(ts);
    const socket = await TestSocket.open(ts);
    socket.send({ type: "auth", token: alice.accessToken, protocolVersion: PROTOCOL_VERSION });
    const ready = await socket.next("ready");
    assert.equal(ready.user.id, alice.user.id);
    assert.equal(ready.sessionId, alice.sessionId);
    assert.equal(ready.protocolVersion, PROTOCOL_VERSION);
    assert.equal(ready.limits.maxFrameBytes, 4096);
    socket.close();
  });

  test("closes a connection that sends no auth frame in time (4408)", async () => {
    const socket = await TestSocket.open(ts);
    const closed = await within(socket.closed);
    assert.equal(closed.code, 4408);
    assert.equal(closed.reason, "auth_timeout");
  });

  test("closes a connection whose first frame is not auth (4401)", async () => {
    const socket = await TestSocket.open(ts);
    socket.send({ type: "room.list" });
    const closed = await within(socket.closed);
    assert.equal(closed.code, 4401);
    assert.equal(closed.reason, "auth_required");
  });

  test("refuses a bad token with an error frame and close 4401", async () => {
    const socket = await TestSocket.open(ts);
    socket.send({ type: "auth", token: "not-a-token", protocolVersion: PROTOCOL_VERSION });
    const error = await socket.next("error");
    assert.equal(error.code, "token_invalid");
    assert.equal((await within(socket.closed)).code, 4401);
  });

  test("refuses a refresh token presented as an access token", async () => {
    const alice = await registerUser(ts);
    const socket = await TestSocket.open(ts);
    socket.send({ type: "auth", token: alice.refreshToken, protocolVersion: PROTOCOL_VERSION });
    assert.equal((await socket.next("error")).code, "token_invalid");
    assert.equal((await within(socket.closed)).code, 4401);
  });

  test("refuses another protocol version with 4426", async () => {
    const alice = await registerUser(ts);
    const socket = await TestSocket.open(ts);
    socket.send({ type: "auth", token: alice.accessToken, protocolVersion: PROTOCOL_VERSION + 1 });
    const closed = await within(socket.closed);
    assert.equal(closed.code, 4426);
    assert.equal(closed.reason, "unsupported_protocol_version");
  });

  test("refuses a foreign Origin with 403 before the upgrade, accepts its own origin", async () => {
    await assert.rejects(TestSocket.open(ts, { origin: "https://evil.example" }), /upgrade refused: 403/);
    const own = await TestSocket.open(ts, { origin: ts.url });
    own.close();
  });

  test("answers 404 for an upgrade on another path", async () => {
    const ws = new WebSocket(`${ts.wsUrl}-other`, { ca: ts.ca ?? undefined });
    const status = await within(
      new Promise<number>((resolve) => {
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.on("error", () => resolve(-1));
      }),
    );
    assert.equal(status, 404);
  });

  test("closes a connection that sends a frame over the size limit (1009)", async () => {
    const alice = await registerUser(ts);
    const socket = await TestSocket.authed(ts, alice.accessToken);
    socket.send({ type: "message.send", to: { user: alice.user.id }, payload: "A".repeat(8192) });
    assert.equal((await within(socket.closed)).code, 1009);
  });

  test("answers malformed and invalid frames with stable codes and keeps the connection", async () => {
    const alice = await registerUser(ts);
    const socket = await TestSocket.authed(ts, alice.accessToken);
    socket.send("{not json");
    assert.equal((await socket.next("error")).code, "malformed_json");
    socket.send({ type: "no.such.frame" });
    const unknown = await socket.next("error");
    assert.equal(unknown.code, "validation_failed");
    assert.deepEqual(unknown.details, ["/type"]);
    socket.send({ type: "room.join", roomId: 42 });
    const wrongType = await socket.next("error");
    assert.equal(wrongType.code, "validation_failed");
    assert.deepEqual(wrongType.details, ["/roomId"]);
    socket.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await socket.next("error")).code, "binary_frames_unsupported");
    // A refused request is named by its rid, so the caller need not wait for a time-out.
    const named = await socket.call({ type: "room.join", roomId: 42 });
    assert.deepEqual(named.type === "error" && [named.code, named.details], [
      "validation_failed",
      ["/roomId"],
    ]);
    const unknownNamed = await socket.call({ type: "no.such.frame" });
    assert.equal(unknownNamed.type === "error" && unknownNamed.code, "validation_failed");
    socket.send({ type: "room.join", roomId: 42, rid: "r".repeat(65) });
    assert.equal("rid" in (await socket.next("error")), false, "an unusable rid is not echoed");
    // Still usable afterwards.
    const rooms = await socket.call({ type: "room.list" });
    assert.equal(rooms.type, "rooms");
    socket.close();
  });

  test("ignores unknown fields and __proto__ keys", async () => {
    const alice = await registerUser(ts);
    const socket = await TestSocket.authed(ts, alice.accessToken);
    socket.send('{"type":"room.create","rid":"p1","name":"proto","__proto__":{"isPublic":true},"extra":1}');
    const answer = await socket.waitFor((f) => "rid" in f && f.rid === "p1");
    assert.equal(answer.type, "room");
    assert.equal(answer.type === "room" && answer.room.isPublic, false, "private, the default (ROOM-2)");
    assert.equal(({} as Record<string, unknown>).isPublic, undefined);
    socket.close();
  });

  test("closes a connection after repeated invalid frames (1008)", async () => {
    const alice = await registerUser(ts);
    const socket = await TestSocket.authed(ts, alice.accessToken);
    for (let i = 0; i < 12; i++) socket.send({ type: "bogus" });
    const closed = await within(socket.closed);
    assert.equal(closed.code, 1008);
    assert.equal(closed.reason, "too_many_invalid_frames");
  });

  test("rate-limits a flood with rate_limited and a retry time, without closing", async () => {
    const alice = await registerUser(ts);
    const socket = await TestSocket.authed(ts, alice.accessToken);
    for (let i = 0; i < 12; i++) socket.send({ type: "room.list", rid: `f${i}` });
    const limited = await socket.next("error");
    assert.equal(limited.code, "rate_limited");
    assert.ok((limited.retryAfterMs ?? 0) > 0);
    assert.equal(socket.ws.readyState, WebSocket.OPEN);
    socket.close();
  });

  test("caps the number of connections per user (4429)", async () => {
    const alice = await registerUser(ts);
    const a = await TestSocket.authed(ts, alice.accessToken);
    const b = await TestSocket.authed(ts, alice.accessToken);
    const c = await TestSocket.open(ts);
    c.send({ type: "auth", token: alice.accessToken, protocolVersion: PROTOCOL_VERSION });
    const closed = await within(c.closed);
    assert.equal(closed.code, 4429);
    assert.equal(closed.reason, "too_many_connections");
    a.close();
    b.close();
  });
});

describe("WebSocket liveness and back-pressure", () => {
  test("closes a connection that stops answering pings", async () => {
    const ts = await startTestServer({ heartbeatS: 0.1 });
    try {
      const alice = await registerUser(ts);
      const ws = new WebSocket(ts.wsUrl, { ca: ts.ca ?? undefined, autoPong: false });
      await new Promise((resolve) => ws.once("open", resolve));
      ws.send(JSON.stringify({ type: "auth", token: alice.accessToken, protocolVersion: PROTOCOL_VERSION }));
      const code = await within(new Promise<number>((resolve) => ws.once("close", (c) => resolve(c))));
      assert.ok(code === 4000 || code === 1006, `closed with ${code}`);
    } finally {
      await ts.stop();
    }
  });

  test("keeps a connection that answers pings", async () => {
    const ts = await startTestServer({ heartbeatS: 0.1 });
    try {
      const alice = await registerUser(ts);
      const socket = await TestSocket.authed(ts, alice.accessToken);
      // A socket that misses two pongs is cut at the third beat (heartbeat.ts): by the fifth ping
      // an answering one has outlived that twice over, and it still works.
      let pings = 0;
      await within(
        new Promise<void>((resolve) =>
          socket.ws.on("ping", () => {
            if (++pings === 5) resolve();
          }),
        ),
        BOUND,
        "fifth ping",
      );
      assert.equal((await socket.call({ type: "room.list" })).type, "rooms");
      socket.close();
    } finally {
      await ts.stop();
    }
  });

  test("closes a slow consumer instead of buffering without bound (4503)", async () => {
    const ts = await startTestServer({ sendBufferBytes: 64 * 1024, frameRate: 10_000, frameBurst: 10_000 });
    try {
      const alice = await registerUser(ts);
      const bob = await registerUser(ts);
      const reader = await TestSocket.authed(ts, bob.accessToken);
      // Bob's client stops reading: the kernel buffers fill, then the server's send buffer.
      (reader.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const writer = await TestSocket.authed(ts, alice.accessToken);
      const payload = "B".repeat(16 * 1024);
      let closedCode = 0;
      void reader.closed.then((c) => {
        closedCode = c.code;
      });
      const gone = ts.server.gateway.connectionCount;
      // Bounded: at most 4,000 frames (64 MiB), sent in settled batches so a loaded machine's
      // server catches up with the sender before the next batch.
      for (let i = 0; i < 4000 && ts.server.gateway.connectionCount === gone; i++) {
        writer.send({ type: "message.send", to: { user: bob.user.id }, payload });
        if (i % 50 === 49) await writer.settle();
      }
      await writer.settle();
      assert.equal(ts.server.gateway.connectionCount, gone - 1, "the slow reader's connection was dropped");
      (reader.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      await within(reader.closed);
      assert.ok(closedCode === 4503 || closedCode === 1006, `closed with ${closedCode}`);
      writer.close();
    } finally {
      await ts.stop();
    }
  });
});
