import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type AckedStream, Inbox, type SeqStore } from "./inbox.js";

/** A seq store whose writes the test can hold back or break, logging what happened in order. */
class TestMark implements SeqStore {
  value: number;
  failLoad = false;
  failSave = false;
  /** While set, save() waits for it. */
  gate: Promise<void> | undefined;

  constructor(
    readonly log: string[],
    none = 0,
  ) {
    this.value = none;
  }

  async load(): Promise<number> {
    if (this.failLoad) throw new Error("disk unreadable");
    return this.value;
  }

  async save(seq: number): Promise<void> {
    await this.gate;
    if (this.failSave) throw new Error("disk full");
    this.value = seq;
    this.log.push(`store ${seq}`);
  }
}

/** One client session: an inbox and a stream over `mark`, logging handling, stores and acks. */
function session(mark: TestMark, options: { connected?: () => boolean } = {}) {
  const log = mark.log;
  const errors: unknown[] = [];
  const inbox = new Inbox((e) => errors.push(e));
  const stream = inbox.stream({
    store: mark,
    ack: (upTo) => {
      if (options.connected?.() === false) return false;
      log.push(`ack ${upTo}`);
      return true;
    },
  });
  const deliver = (s: AckedStream, ...seqs: number[]) => {
    for (const seq of seqs)
      s.receive(seq, async () => {
        log.push(`handle ${seq}`);
      });
  };
  return { inbox, stream, errors, log, deliver: (...seqs: number[]) => deliver(stream, ...seqs) };
}

describe("Inbox", () => {
  test("runs tasks one at a time in the order they were queued, even when earlier ones are slower", async () => {
    const inbox = new Inbox(() => {});
    const done: number[] = [];
    inbox.run(async () => {
      await new Promise((r) => setTimeout(r, 5));
      done.push(1);
    });
    inbox.run(async () => {
      done.push(2);
    });
    await inbox.drain();
    assert.deepEqual(done, [1, 2]);
  });

  test("reports a failing task and runs the next one", async () => {
    const errors: unknown[] = [];
    const inbox = new Inbox((e) => errors.push(e));
    const done: string[] = [];
    inbox.run(async () => {
      throw new Error("boom");
    });
    inbox.run(async () => {
      done.push("next");
    });
    await inbox.drain();
    assert.deepEqual(done, ["next"]);
    assert.equal((errors[0] as Error).message, "boom");
  });

  test("drain also waits for tasks that running tasks queue", async () => {
    const inbox = new Inbox(() => {});
    const done: string[] = [];
    inbox.run(async () => {
      inbox.run(async () => {
        await new Promise((r) => setTimeout(r, 5));
        done.push("queued by a task");
      });
    });
    await inbox.drain();
    assert.deepEqual(done, ["queued by a task"]);
  });
});

describe("AckedStream", () => {
  test("acknowledges a burst once, with its highest seq, after every entry of it is handled and stored", async () => {
    const mark = new TestMark([]);
    const s = session(mark);
    s.deliver(3, 4, 7);
    await s.inbox.drain();
    assert.deepEqual(s.log, ["handle 3", "store 3", "handle 4", "store 4", "handle 7", "store 7", "ack 7"]);
  });

  test("never sends an ack before the store has finished", async () => {
    const mark = new TestMark([]);
    let release = () => {};
    mark.gate = new Promise((r) => {
      release = r;
    });
    const s = session(mark);
    s.deliver(1);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(s.log, ["handle 1"], "handled, but the store is still writing: no ack");
    release();
    await s.inbox.drain();
    assert.deepEqual(s.log, ["handle 1", "store 1", "ack 1"]);
  });

  test("a crash between store and ack: the redelivered entries are skipped and acknowledged", async () => {
    const log: string[] = [];
    const mark = new TestMark(log);
    // The first session stores 1 and 2, but its ack never reaches the server.
    const first = session(mark, { connected: () => false });
    first.deliver(1, 2);
    await first.inbox.drain();
    assert.deepEqual(log, ["handle 1", "store 1", "handle 2", "store 2"]);
    // A new session on the same store (after a restart) gets both again, and a new one.
    log.length = 0;
    const second = session(mark);
    second.deliver(1, 2, 3);
    await second.inbox.drain();
    assert.deepEqual(log, ["handle 3", "store 3", "ack 3"]);
  });

  test("after a reconnect, a resent backlog that was all handled is acknowledged again", async () => {
    const mark = new TestMark([]);
    const s = session(mark);
    s.deliver(1, 2);
    await s.inbox.drain();
    // The ack was sent but lost with the connection; the server resends on the next one.
    s.log.length = 0;
    s.deliver(1, 2);
    await s.inbox.drain();
    assert.deepEqual(s.log, ["ack 2"], "nothing handled twice, the burst acknowledged");
  });

  test("an entry whose handler fails is reported, stored and acknowledged, and the next is handled", async () => {
    const mark = new TestMark([]);
    const s = session(mark);
    s.stream.receive(1, async () => {
      throw new Error("cannot apply");
    });
    s.deliver(2);
    await s.inbox.drain();
    assert.equal((s.errors[0] as Error).message, "cannot apply");
    assert.deepEqual(s.log, ["store 1", "handle 2", "store 2", "ack 2"]);
  });

  test("an entry whose seq could not be stored is not acknowledged, and is handled again when resent", async () => {
    const mark = new TestMark([]);
    mark.failSave = true;
    const s = session(mark);
    s.deliver(1);
    await s.inbox.drain();
    assert.deepEqual(s.log, ["handle 1"], "no ack");
    assert.equal((s.errors[0] as Error).message, "disk full");
    mark.failSave = false;
    s.deliver(1);
    await s.inbox.drain();
    assert.deepEqual(s.log, ["handle 1", "handle 1", "store 1", "ack 1"]);
  });

  test("a mark that cannot be read is read again later; meanwhile entries are handled rather than lost", async () => {
    const mark = new TestMark([]);
    mark.value = 5;
    mark.failLoad = true;
    const s = session(mark);
    s.deliver(5);
    await s.inbox.drain();
    assert.deepEqual(s.log, ["handle 5", "store 5", "ack 5"]);
    mark.failLoad = false;
    s.log.length = 0;
    s.deliver(5, 6);
    await s.inbox.drain();
    assert.deepEqual(s.log, ["handle 6", "store 6", "ack 6"]);
  });

  test("two streams share one inbox: entries of both are handled in arrival order", async () => {
    const log: string[] = [];
    const inbox = new Inbox(() => {});
    const handshakes = inbox.stream({
      store: new TestMark([], -1),
      ack: (n) => Boolean(log.push(`mls.ack ${n}`)),
    });
    const queue = inbox.stream({ store: new TestMark([]), ack: (n) => Boolean(log.push(`queue.ack ${n}`)) });
    const entry = (name: string) => async () => {
      log.push(name);
    };
    handshakes.receive(1, entry("commit 1"));
    queue.receive(1, entry("message 1"));
    handshakes.receive(2, entry("commit 2"));
    await inbox.drain();
    assert.deepEqual(log, ["commit 1", "message 1", "queue.ack 1", "commit 2", "mls.ack 2"]);
  });

  test("forget: a new device's entries, numbered afresh, are not skipped", async () => {
    const mark = new TestMark([]);
    const s = session(mark);
    s.deliver(8);
    await s.inbox.drain();
    mark.value = 0; // the device was recreated: its store mark is gone
    s.stream.forget();
    s.log.length = 0;
    s.deliver(1);
    await s.inbox.drain();
    assert.deepEqual(s.log, ["handle 1", "store 1", "ack 1"]);
  });
});
