// ConnectionRegistry: indexes, deliveries, control events and frame budgets.
import assert from "node:assert/strict";
import type { Writable } from "node:stream";
import { describe, test } from "node:test";
import { ERRORS } from "@parley/protocol";
import type WebSocket from "ws";
import type { AuthContext } from "../domain/accounts.js";
import type { DeviceStream } from "../domain/device-stream.js";
import { asRoomId, asSessionId, asUserId } from "../domain/ids.js";
import { Connection } from "./connection.js";
import { ConnectionRegistry } from "./connection-registry.js";
import { WriteBatch } from "./write-batch.js";

/** The JSON inside a server's WebSocket text frame (RFC 6455 §5.2, unmasked). */
function unframe(chunk: Buffer): string {
  assert.equal(chunk[0], 0x81, "one unfragmented text frame");
  const length7 = (chunk[1] ?? 0) & 0x7f;
  return chunk.subarray(length7 < 126 ? 2 : length7 === 126 ? 4 : 10).toString("utf8");
}

const batch = new WriteBatch();

/** A WebSocket and its socket, recording what the connection wrote and how it was closed. */
function fakeSocket() {
  const sent: string[] = [];
  const closes: [number, string][] = [];
  const ws = {
    readyState: 1,
    bufferedAmount: 0,
    close: (code: number, reason: string) => {
      closes.push([code, reason]);
    },
    terminate: () => undefined,
  };
  const socket = {
    writableCorked: 0,
    cork() {
      this.writableCorked++;
    },
    uncork() {
      this.writableCorked--;
    },
    write: (chunk: Buffer) => sent.push(unframe(chunk)),
  };
  return { ws: ws as unknown as WebSocket, socket: socket as unknown as Writable, sent, closes };
}

function connection(id: string, socket: ReturnType<typeof fakeSocket>, sendBufferBytes = 1 << 20) {
  return new Connection({
    id,
    ws: socket.ws,
    socket: socket.socket,
    ip: "127.0.0.1",
    sendBufferBytes,
    batch,
    onSent: () => undefined,
  });
}

let n = 0;
function connect(
  registry: ConnectionRegistry,
  user: string,
  session = `s-${user}`,
  deviceId: string | null = null,
) {
  const socket = fakeSocket();
  const conn = connection(`c${++n}`, socket);
  registry.opened(conn);
  const auth: AuthContext = {
    userId: asUserId(user),
    username: user,
    sessionId: asSessionId(session),
    isAdmin: false,
  };
  conn.auth = auth;
  conn.deviceId = deviceId;
  registry.authenticated(conn);
  return { conn, ...socket };
}

function registry(overrides: Partial<ConstructorParameters<typeof ConnectionRegistry>[0]> = {}) {
  const invalidated: unknown[] = [];
  let delivered = 0;
  const r = new ConnectionRegistry({
    frameRate: 1,
    frameBurst: 2,
    invalidate: (e) => invalidated.push(e),
    delivered: (count) => {
      delivered += count;
    },
    onStreamError: (err) => assert.fail(String(err)),
    ...overrides,
  });
  return { r, invalidated, delivered: () => delivered };
}

describe("ConnectionRegistry", () => {
  test("keeps a spent frame budget across reconnects", () => {
    const { r } = registry();
    const a = connect(r, "alice");
    const b = connect(r, "alice");
    assert.equal(r.take(asUserId("alice")), 0);
    assert.equal(r.budgetedUsers, 1);
    r.closed(a.conn);
    assert.equal(r.budgetedUsers, 1, "alice still has a connection: her budget stays");
    assert.equal(r.take(asUserId("alice")), 0);
    assert.ok(r.take(asUserId("alice")) > 0, "the burst of 2 is spent across both connections");
    r.closed(b.conn);
    assert.equal(r.budgetedUsers, 1, "a spent budget outlives the connections");
    assert.equal(r.closed(b.conn), false, "closing twice is a no-op");
    connect(r, "alice");
    assert.ok(r.take(asUserId("alice")) > 0, "reconnecting does not buy a fresh burst");
  });

  test("charges a frame's cost in tokens", () => {
    const { r } = registry();
    connect(r, "alice");
    assert.ok(r.take(asUserId("alice"), 3) > 0, "more than the burst at once");
    assert.equal(r.take(asUserId("alice"), 2), 0);
  });

  test("delivers to each connection of the users named but the sender's, and counts them", () => {
    const { r, delivered } = registry();
    const a1 = connect(r, "alice");
    const a2 = connect(r, "alice");
    const b = connect(r, "bob");
    r.deliverLocal([asUserId("alice"), asUserId("bob"), asUserId("nobody")], Buffer.from("{}"), a1.conn.id);
    assert.deepEqual([a1.sent.length, a2.sent.length, b.sent.length], [0, 1, 1]);
    assert.equal(delivered(), 2);
  });

  test("delivers a device's frame to that device only and knows which devices are here", () => {
    const { r } = registry();
    const phone = connect(r, "alice", "s1", "phone");
    const laptop = connect(r, "alice", "s1", "laptop");
    r.deliverLocalDevice(asUserId("alice"), "phone", Buffer.from("{}"));
    assert.deepEqual([phone.sent.length, laptop.sent.length], [1, 0]);
    assert.equal(r.hasLocalDevice(asUserId("alice"), "phone"), true);
    r.closed(phone.conn);
    assert.equal(r.hasLocalDevice(asUserId("alice"), "phone"), false);
  });

  test("holds live deliveries while a device's backlog is read, then sends them after it (MLS-8)", () => {
    const { r } = registry();
    const phone = connect(r, "alice", "s1", "phone");
    phone.conn.holdDeliveries();
    r.deliverLocalDevice(asUserId("alice"), "phone", Buffer.from('{"seq":3}'));
    r.deliverLocal([asUserId("alice")], Buffer.from('{"live":1}'));
    assert.deepEqual(phone.sent, [], "nothing live goes out before the backlog");
    phone.conn.streamOutput().send(Buffer.from('{"seq":1}'));
    phone.conn.streamOutput().send(Buffer.from('{"seq":2}'));
    phone.conn.releaseDeliveries();
    assert.deepEqual(phone.sent, ['{"seq":1}', '{"seq":2}', '{"seq":3}', '{"live":1}']);
    r.deliverLocal([asUserId("alice")], Buffer.from('{"live":2}'));
    assert.equal(phone.sent.at(-1), '{"live":2}', "after release deliveries go out at once");
  });

  test("closes a holding connection as a slow consumer instead of holding without bound", () => {
    const { r } = registry();
    const socket = fakeSocket();
    const conn = connection("small", socket, 16);
    r.opened(conn);
    conn.auth = { userId: asUserId("bob"), username: "bob", sessionId: asSessionId("s-bob"), isAdmin: false };
    conn.deviceId = "phone";
    r.authenticated(conn);
    conn.holdDeliveries();
    r.deliverLocal([asUserId("bob")], Buffer.from("0123456789"));
    r.deliverLocal([asUserId("bob")], Buffer.from("0123456789"));
    assert.deepEqual(socket.closes, [[ERRORS.slow_consumer.wsClose, "slow_consumer"]]);
    conn.releaseDeliveries();
    assert.deepEqual(socket.sent, [], "a closing connection sends nothing held");
  });

  test("closes the connections of a revoked session only, with the reason (AUTH-7)", () => {
    const { r } = registry();
    const revoked = connect(r, "alice", "s-old");
    const other = connect(r, "alice", "s-new");
    r.onControl({ type: "session.revoked", sessionId: asSessionId("s-old"), reason: "session_revoked" });
    assert.deepEqual(revoked.closes, [[1008, "session_revoked"]]);
    assert.equal((JSON.parse(revoked.sent[0] ?? "{}") as { code?: string }).code, "session_revoked");
    assert.deepEqual(other.closes, []);
  });

  test("hands cache events to the domain and queue writes to the device's stream", async () => {
    const { r, invalidated } = registry();
    const phone = connect(r, "alice", "s1", "phone");
    let written = 0;
    phone.conn.stream = {
      queueWritten: async () => {
        written++;
      },
    } as unknown as DeviceStream;
    r.onControl({ type: "membership.changed", roomId: asRoomId("ROOM01") });
    r.onControl({ type: "queue.written", devices: [{ userId: asUserId("alice"), deviceId: "phone" }] });
    r.onControl({ type: "queue.written", devices: [{ userId: asUserId("alice"), deviceId: "laptop" }] });
    await new Promise((resolve) =>
      phone.conn.serially(
        undefined,
        async () => resolve(undefined),
        () => undefined,
      ),
    );
    assert.equal(written, 1);
    assert.deepEqual(invalidated, [{ type: "membership.changed", roomId: "ROOM01" }]);
  });
});
