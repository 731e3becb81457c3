// WriteBatch: a turn's writes to a stream leave together, in order, once the turn is over.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { WriteBatch } from "./write-batch.js";

/** A real Writable that records each write the stream layer hands down (one entry per writev). */
function recorder() {
  const calls: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      calls.push([chunk.toString()]);
      done();
    },
    writev(chunks, done) {
      calls.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      done();
    },
  });
  return { stream, calls };
}

describe("WriteBatch", () => {
  test("holds a turn's writes and hands them down together, in order, after the turn", async () => {
    const batch = new WriteBatch();
    const a = recorder();
    const b = recorder();
    for (const n of [1, 2, 3]) {
      batch.write(a.stream, Buffer.from(`a${n}`));
      batch.write(b.stream, Buffer.from(`b${n}`));
    }
    assert.equal(a.calls.length, 0, "nothing leaves during the turn");
    assert.equal(batch.pending, 2, "each stream is corked once");
    await nextTurn();
    assert.deepEqual(a.calls, [["a1", "a2", "a3"]]);
    assert.deepEqual(b.calls, [["b1", "b2", "b3"]]);
    assert.equal(batch.pending, 0);
    assert.equal(a.stream.writableCorked, 0);
  });

  test("starts a new batch in the next turn", async () => {
    const batch = new WriteBatch();
    const a = recorder();
    batch.write(a.stream, Buffer.from("x"));
    await nextTurn();
    batch.write(a.stream, Buffer.from("y"));
    batch.write(a.stream, Buffer.from("z"));
    await nextTurn();
    assert.deepEqual(a.calls, [["x"], ["y", "z"]]);
  });

  test("counts held bytes as the stream's unsent data, so limits on it still hold", () => {
    const batch = new WriteBatch();
    const a = recorder();
    batch.write(a.stream, Buffer.alloc(1000));
    batch.write(a.stream, Buffer.alloc(24));
    assert.equal(a.stream.writableLength, 1024);
    batch.flush();
  });

  test("lets a stream holding the most it may hold go at once, and batches again after", async () => {
    const batch = new WriteBatch(1000);
    const a = recorder();
    batch.write(a.stream, Buffer.alloc(600, "a"));
    assert.equal(a.calls.length, 0);
    batch.write(a.stream, Buffer.alloc(600, "b"));
    assert.deepEqual(
      a.calls.map((c) => c.map((s) => s[0])),
      [["a", "b"]],
      "the two writes left together as soon as they reached the limit",
    );
    batch.write(a.stream, Buffer.from("c"));
    batch.write(a.stream, Buffer.from("d"));
    assert.equal(a.calls.length, 1);
    await nextTurn();
    assert.deepEqual(a.calls.at(-1), ["c", "d"]);
    assert.equal(a.stream.writableCorked, 0);
  });

  test("a stream destroyed within the turn drops its writes and does not stop the others", async () => {
    const batch = new WriteBatch();
    const a = recorder();
    const b = recorder();
    const c = recorder();
    batch.write(a.stream, Buffer.from("a1"));
    batch.write(b.stream, Buffer.from("b1"));
    b.stream.on("error", () => undefined);
    b.stream.destroy();
    batch.write(c.stream, Buffer.from("c1"));
    batch.write(a.stream, Buffer.from("a2"));
    await nextTurn();
    assert.deepEqual(a.calls, [["a1", "a2"]]);
    assert.deepEqual(b.calls, []);
    assert.deepEqual(c.calls, [["c1"]]);
  });

  test("leaves a stream that ended within the turn as its end left it", async () => {
    const batch = new WriteBatch();
    const a = recorder();
    batch.write(a.stream, Buffer.from("last"));
    a.stream.end();
    await nextTurn();
    assert.deepEqual(a.calls.flat(), ["last"], "end() wrote out what was held");
    assert.equal(a.stream.writableCorked, 0);
  });
});
