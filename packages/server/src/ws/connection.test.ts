// Connection.serially: a connection's frames are handled one at a time, in order (WS-4).
import assert from "node:assert/strict";
import type { Writable } from "node:stream";
import { describe, test } from "node:test";
import type WebSocket from "ws";
import { Connection } from "./connection.js";
import { WriteBatch } from "./write-batch.js";

function connection(): Connection {
  return new Connection({
    id: "c1",
    ws: { readyState: 1, bufferedAmount: 0 } as unknown as WebSocket,
    socket: {} as Writable,
    ip: "127.0.0.1",
    sendBufferBytes: 1 << 20,
    batch: new WriteBatch(),
    onSent: () => undefined,
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("Connection.serially (WS-4)", () => {
  test("runs a frame at once when nothing is pending", () => {
    const conn = connection();
    const log: string[] = [];
    conn.serially("a", (x) => void log.push(x), assert.fail);
    assert.deepEqual(log, ["a"]);
  });

  test("holds later frames behind one that waits, then runs them in arrival order", async () => {
    const conn = connection();
    const log: string[] = [];
    let release: () => void = () => undefined;
    conn.serially(
      "slow",
      () =>
        new Promise<void>((resolve) => {
          release = () => {
            log.push("slow done");
            resolve();
          };
        }),
      assert.fail,
    );
    conn.serially("b", (x) => void log.push(x), assert.fail);
    conn.serially("c", async (x) => void log.push(x), assert.fail);
    await tick();
    assert.equal(log.length, 0, "nothing overtakes the frame that waits");
    release();
    await tick();
    assert.deepEqual(log, ["slow done", "b", "c"]);
    conn.serially("d", (x) => void log.push(x), assert.fail);
    assert.equal(log.at(-1), "d", "once everything is done, frames run at once again");
  });

  test("finishes a failed frame's error handling before the next frame, thrown or rejected", async () => {
    const conn = connection();
    const log: string[] = [];
    const onError = async (e: unknown, item: string) => {
      await tick();
      log.push(`${item} failed: ${(e as Error).message}`);
    };
    conn.serially(
      "a",
      () => {
        throw new Error("at once");
      },
      onError,
    );
    conn.serially("b", async () => Promise.reject(new Error("later")), onError);
    conn.serially("c", (x) => void log.push(x), onError);
    await tick();
    await tick();
    await tick();
    assert.deepEqual(log, ["a failed: at once", "b failed: later", "c"]);
  });

  test("keeps going after an error handler that fails itself", async () => {
    const conn = connection();
    const log: string[] = [];
    conn.serially(
      "a",
      async () => Promise.reject(new Error("x")),
      async () => Promise.reject(new Error("handler")),
    );
    conn.serially("b", (x) => void log.push(x), assert.fail);
    await tick();
    await tick();
    assert.deepEqual(log, ["b"]);
  });
});
