import assert from "node:assert/strict";
import { test } from "node:test";
import { TypedEmitter } from "./emitter.js";

interface Events {
  ping: number;
  pong: { text: string };
}

test("calls listeners in the order they were added, with the payload", () => {
  const e = new TypedEmitter<Events>();
  const seen: string[] = [];
  e.on("ping", (n) => seen.push(`a${n}`));
  e.on("ping", (n) => seen.push(`b${n}`));
  assert.equal(e.emit("ping", 1), true);
  assert.deepEqual(seen, ["a1", "b1"]);
});

test("emit returns false when nobody listens", () => {
  assert.equal(new TypedEmitter<Events>().emit("ping", 1), false);
});

test("the function on() returns removes that listener only", () => {
  const e = new TypedEmitter<Events>();
  const seen: number[] = [];
  const off = e.on("ping", (n) => seen.push(n));
  e.on("ping", (n) => seen.push(n * 10));
  off();
  off(); // does not throw if called twice
  e.emit("ping", 2);
  assert.deepEqual(seen, [20]);
  assert.equal(e.listenerCount("ping"), 1);
});

test("once listeners run a single time", () => {
  const e = new TypedEmitter<Events>();
  let calls = 0;
  e.once("pong", () => calls++);
  e.emit("pong", { text: "x" });
  e.emit("pong", { text: "y" });
  assert.equal(calls, 1);
  assert.equal(e.listenerCount("pong"), 0);
});

test("next() resolves with the next payload", async () => {
  const e = new TypedEmitter<Events>();
  const p = e.next("pong");
  e.emit("pong", { text: "hi" });
  assert.deepEqual(await p, { text: "hi" });
});

test("a listener added during emit is not called for that emit", () => {
  const e = new TypedEmitter<Events>();
  let late = 0;
  e.on("ping", () => {
    e.on("ping", () => late++);
  });
  e.emit("ping", 1);
  assert.equal(late, 0);
  e.emit("ping", 2);
  assert.equal(late, 1);
});

test("a throwing listener does not stop the others; the first error is rethrown after them", () => {
  const e = new TypedEmitter<Events>();
  const seen: string[] = [];
  e.on("ping", () => {
    throw new Error("first");
  });
  e.on("ping", () => {
    throw new Error("second");
  });
  e.on("ping", () => seen.push("third"));
  assert.throws(() => e.emit("ping", 1), { message: "first" });
  assert.deepEqual(seen, ["third"]);
});

test("onListenerError receives listener errors instead of emit throwing", () => {
  const errors: [unknown, string][] = [];
  const e = new TypedEmitter<Events>({ onListenerError: (error, event) => errors.push([error, event]) });
  const boom = new Error("boom");
  e.on("ping", () => {
    throw boom;
  });
  assert.equal(e.emit("ping", 1), true);
  assert.deepEqual(errors, [[boom, "ping"]]);
});

test("removeAllListeners removes every listener of every event", () => {
  const e = new TypedEmitter<Events>();
  e.on("ping", () => {});
  e.on("pong", () => {});
  e.removeAllListeners();
  assert.equal(e.listenerCount("ping") + e.listenerCount("pong"), 0);
});
