import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CLIENT_FRAME_SCHEMAS, type ServerFrame } from "@parley/protocol";
import { registerUser, startTestServer, type TestServer } from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

// WS-3, kept from the fuzzing done while fixing it: a seeded stream of random frames (valid
// types with random fields, mutated JSON, garbage) through the real server. Whatever a client
// sends, the answer is a registry error or a normal answer: never `internal_error`, never an
// error in the log, and the server keeps serving. The seed makes a failure reproducible.

const SEED = 0x5eed_0012;
const FRAMES = 1000;
/** Frames sent between two round trips that prove the connection still answers. */
const BATCH = 20;

/** mulberry32: a small, well-known seeded PRNG (not for cryptography). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = [...CLIENT_FRAME_SCHEMAS.keys()];
const FIELDS = [
  "rid",
  "roomId",
  "userId",
  "to",
  "payload",
  "name",
  "topic",
  "isPublic",
  "deviceId",
  "signatureKey",
  "keyPackages",
  "lastResort",
  "epoch",
  "commit",
  "welcome",
  "groupInfo",
  "addDevices",
  "removeDevices",
  "external",
  "upTo",
  "active",
  "token",
  "protocolVersion",
  "__proto__",
  "constructor",
];

function generator(random: () => number) {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const str = () =>
    pick([
      "",
      "a",
      "ROOM01",
      "x".repeat(int(300)),
      "AAECAwQ=",
      "\u0000\uffff",
      "../../etc",
      "💬".repeat(int(20)),
      String(random()),
    ]);
  function value(depth: number): unknown {
    switch (int(depth > 2 ? 6 : 9)) {
      case 0:
        return str();
      case 1:
        return pick([0, -1, 1, 2 ** 53, -(2 ** 31), 1.5, 1e308, int(1000)]);
      case 2:
        return random() < 0.5;
      case 3:
        return null;
      case 4:
        return str();
      case 5:
        return pick([{ room: str() }, { user: str() }, { room: str(), user: str() }]);
      case 6:
        return Array.from({ length: int(5) }, () => value(depth + 1));
      case 7:
        return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(FIELDS), value(depth + 1)]));
      default:
        return Array.from({ length: int(3) }, () => str());
    }
  }
  return (): string => {
    const kind = random();
    if (kind < 0.7) {
      const frame: Record<string, unknown> = { type: pick(TYPES) };
      for (let i = int(6); i > 0; i--) frame[pick(FIELDS)] = value(0);
      if (random() < 0.7) frame.rid = `f${int(1e6)}`;
      return JSON.stringify(frame);
    }
    if (kind < 0.85) {
      const text = JSON.stringify({ type: pick(TYPES), roomId: str(), rid: "m1" });
      const at = int(text.length);
      return text.slice(0, at) + pick(["", "}", "\\", '"', "\u0000", "{"]) + text.slice(at + 1);
    }
    return JSON.stringify(value(0));
  };
}

describe("Gateway under random frames (WS-3)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ frameRate: 100_000, frameBurst: 100_000 });
  });
  after(() => ts.stop());

  test(`answers ${FRAMES} seeded random frames with registry errors only, and logs no error`, async () => {
    const user = await registerUser(ts);
    const next = generator(prng(SEED));
    const received: ServerFrame[] = [];
    let socket = await TestSocket.authed(ts, user.accessToken);
    let sockets = 1;
    for (let sent = 0; sent < FRAMES; ) {
      for (let i = 0; i < BATCH && sent < FRAMES; i++, sent++) socket.send(next());
      const alive = await Promise.race([
        socket.call({ type: "room.list" }).then(() => true),
        socket.closed.then(() => false),
      ]);
      received.push(...socket.frames.splice(0));
      if (!alive) {
        // WS-3: too many invalid frames close a connection; the next batch gets a new one.
        const closed = await socket.closed;
        assert.equal(closed.reason, "too_many_invalid_frames");
        socket = await TestSocket.authed(ts, user.accessToken);
        sockets++;
      }
    }
    // The server still serves: a fresh round trip on a new connection.
    const last = await TestSocket.authed(ts, user.accessToken);
    assert.equal((await last.call({ type: "room.list" })).type, "rooms");
    last.close();
    socket.close();

    const errors = received.filter((f): f is Extract<ServerFrame, { type: "error" }> => f.type === "error");
    assert.ok(errors.length > FRAMES / 4, `most random frames are refused (${errors.length})`);
    assert.ok(sockets > 1, "some connections reached the invalid-frame limit");
    assert.deepEqual(
      errors.filter((e) => e.code === "internal_error" || e.code === "service_unavailable"),
      [],
    );
    const errorLines = ts.logs.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
    assert.deepEqual(errorLines, []);
  });
});
