// The relay's write path on real sockets: frames framed once (wireFrame), gathered per socket
// and event-loop turn (WriteBatch), written by Connection; read back by real `ws` clients.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import WebSocket, { WebSocketServer } from "ws";
import { Connection } from "../../packages/server/src/ws/connection.js";
import { wireFrame } from "../../packages/server/src/ws/wire-frame.js";
import { WriteBatch } from "../../packages/server/src/ws/write-batch.js";

const BOUND_MS = 10_000;

/** A client socket and what it received, with the server's Connection for it. */
interface Pair {
  conn: Connection;
  client: WebSocket;
  received: string[];
  closed: Promise<{ code: number; reason: string }>;
}

function until(what: string, check: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() - started > BOUND_MS) reject(new Error(`no ${what} within ${BOUND_MS} ms`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

describe("WebSocket write path (wireFrame, WriteBatch, Connection)", () => {
  let server: Server;
  let url: string;
  const batch = new WriteBatch();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  let nextSendBuffer = 1 << 20;
  let accepted: ((conn: Connection) => void) | null = null;
  let n = 0;

  before(async () => {
    server = createServer();
    server.on("upgrade", (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const conn = new Connection({
          id: `c${++n}`,
          ws,
          socket,
          ip: "127.0.0.1",
          sendBufferBytes: nextSendBuffer,
          batch,
          onSent: () => undefined,
        });
        ws.on("close", () => {
          conn.closing = true;
        });
        accepted?.(conn);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    wss.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function open(sendBufferBytes = 1 << 20): Promise<Pair> {
    nextSendBuffer = sendBufferBytes;
    const conn = new Promise<Connection>((resolve) => {
      accepted = resolve;
    });
    const client = new WebSocket(url, { perMessageDeflate: false });
    const received: string[] = [];
    client.on("message", (data, isBinary) => {
      assert.equal(isBinary, false, "every frame is a text frame");
      received.push((data as Buffer).toString("utf8"));
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      client.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    client.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once("open", () => resolve());
      client.once("error", reject);
    });
    return { conn: await conn, client, received, closed };
  }

  test("each socket gets every frame of a turn whole and in order, shared and its own alike", async () => {
    const pairs = [await open(), await open(), await open()];
    const [first] = pairs as [Pair, Pair, Pair];
    // Lengths around every boundary of the frame header's length forms (RFC 6455 §5.2).
    const pads = [0, 100, 115, 116, 117, 65_520, 65_530, 70_000, 3];
    const expected: string[][] = [[], [], []];
    for (let i = 0; i < 120; i++) {
      const json = JSON.stringify({ n: i, pad: "x".repeat(pads[i % pads.length] ?? 0) });
      const shared = wireFrame(json);
      for (const [k, p] of pairs.entries()) {
        p.conn.deliver(shared);
        expected[k]?.push(json);
      }
      const own = JSON.stringify({ own: i, text: "Zoë 🙂" });
      first.conn.sendRaw(own);
      expected[0]?.push(own);
    }
    await until("all frames", () => pairs.every((p, k) => p.received.length >= (expected[k]?.length ?? 0)));
    for (const [k, p] of pairs.entries()) assert.deepEqual(p.received, expected[k]);
    for (const p of pairs) p.client.close();
  });

  test("a socket closed within a turn loses its own frames only", async () => {
    const [a, b, c] = [await open(), await open(), await open()];
    const all = [a, b, c];
    const sent: string[] = [];
    const deliver = (i: number) => {
      const json = JSON.stringify({ n: i });
      sent.push(json);
      const wire = wireFrame(json);
      for (const p of all) p.conn.deliver(wire);
    };
    assert.doesNotThrow(() => {
      deliver(0);
      a.conn.ws.terminate();
      for (let i = 1; i < 50; i++) deliver(i);
    });
    await until("the others' frames", () => b.received.length >= 50 && c.received.length >= 50);
    assert.deepEqual(b.received, sent);
    assert.deepEqual(c.received, sent);
    assert.equal((await a.closed).code, 1006, "the terminated socket was cut, not closed");
    assert.deepEqual(a.received, [], "what the terminated socket held was dropped with it");
    // The batch goes on working for the sockets that are left.
    await nextTurn();
    deliver(50);
    await until("the next turn's frame", () => b.received.length === 51 && c.received.length === 51);
    b.client.close();
    c.client.close();
  });

  test("frames written before a close leave before the close frame", async () => {
    const p = await open();
    p.conn.sendRaw('{"n":1}');
    p.conn.sendRaw('{"n":2}');
    p.conn.close("slow_consumer");
    p.conn.sendRaw('{"n":3}');
    const closed = await p.closed;
    assert.deepEqual(p.received, ['{"n":1}', '{"n":2}'], "nothing after the close");
    assert.deepEqual(closed, { code: 4503, reason: "slow_consumer" });
  });

  test("a client that stops reading is closed as a slow consumer, held bytes counted (LIMIT-4)", async () => {
    const p = await open(256 * 1024);
    // The client stops reading: the kernel's buffers fill, then the server's send buffer.
    (p.client as unknown as { _socket: { pause(): void } })._socket.pause();
    const frame = wireFrame(JSON.stringify({ pad: "x".repeat(16 * 1024) }));
    // Bounded: at most 4,000 frames (64 MiB), a few per turn.
    for (let i = 0; i < 4000 && !p.conn.closing; i++) {
      p.conn.deliver(frame);
      if (i % 8 === 7) await nextTurn();
    }
    assert.equal(p.conn.closing, true, "the connection was closed before 64 MiB");
    (p.client as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await p.closed;
    assert.ok(closed.code === 4503 || closed.code === 1006, `closed with ${closed.code}`);
  });
});
