import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ChatChange, ChatModel, History, MemoryStore, type Timers } from "@parley/client";
import { until } from "../e2e/support/wait.js";
import { startTestServer, type TestServer } from "./support/harness.js";
import { nextEvent, type SdkUser, sdkSignUp } from "./support/sdk.js";

// Issue 13: a conversation's disappearing timer, set by one member as an encrypted control
// message, removes the messages on every member's device: from the model and from its history.
// Real server and SDK clients (MLS included); the models run on a clock and timers the test
// moves, so an hour passes without waiting for it.

/** A clock and timers the test advances by hand. */
class TestClock implements Timers {
  now = Date.now();
  readonly #pending = new Map<number, { at: number; run: () => void }>();
  #next = 0;
  setTimeout(run: () => void, ms: number): unknown {
    this.#next += 1;
    this.#pending.set(this.#next, { at: this.now + ms, run });
    return this.#next;
  }
  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }
  /** Moves the clock on and runs every timer that is due by then. */
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.#pending]) {
      if (t.at > this.now) continue;
      this.#pending.delete(id);
      t.run();
    }
  }
}

interface Member {
  readonly user: SdkUser;
  readonly model: ChatModel;
  readonly store: MemoryStore;
  readonly changes: ChatChange[];
}

const HOUR_MS = 3_600_000;

describe("disappearing messages", () => {
  let ts: TestServer;
  const clock = new TestClock();
  let alice: Member;
  let bob: Member;
  let roomId = "";

  async function member(prefix: string): Promise<Member> {
    const user = await sdkSignUp(ts, prefix);
    const store = new MemoryStore();
    const history = new History(store);
    const model = new ChatModel(user.client, { history, now: () => clock.now, timers: clock });
    const changes: ChatChange[] = [];
    model.subscribe((c) => changes.push(c));
    return { user, model, store, changes };
  }

  const texts = (m: Member) => (m.model.snapshot.messages[roomId] ?? []).map((x) => x.text);
  /** What the member's device keeps of the room, read back from its store. */
  const kept = async (m: Member) => ((await new History(m.store).loadAll())[roomId] ?? []).map((x) => x.text);

  before(async () => {
    ts = await startTestServer({ frameRate: 1000, frameBurst: 1000 });
    alice = await member("alice");
    bob = await member("bob");
    const room = await alice.user.client.createRoom("vanishing", { isPublic: false });
    roomId = room.id;
    await alice.user.client.invite(roomId, bob.user.id);
    await bob.user.client.join(roomId);
    await until(async () => {
      const epochs = await Promise.all([alice, bob].map((m) => m.user.client.epoch(roomId)));
      return epochs[0] !== undefined && epochs[0] === epochs[1];
    }, "both in the group at one epoch");
    await Promise.all([alice.model.refresh(), bob.model.refresh()]);
  });

  after(async () => {
    for (const m of [alice, bob]) {
      m?.model.dispose();
      await m?.user.client.close();
    }
    await ts?.stop();
  });

  it("tells every member when one sets a timer, and both show it", async () => {
    const said = nextEvent(bob.user.client, "message", (m) => m.roomId === roomId && m.text === "before");
    await alice.model.send(roomId, "before");
    await said;
    await alice.model.setDisappearing(roomId, 3_600);
    await until(async () => bob.model.snapshot.disappearing[roomId] === 3_600, "bob's timer");
    assert.equal(alice.model.snapshot.disappearing[roomId], 3_600);
    const line = `${alice.user.username} set disappearing messages to 1 hour`;
    for (const m of [alice, bob]) {
      // Room events are system lines too (ROOM-9); the timer's is the one about disappearing.
      const system = (m.model.snapshot.messages[roomId] ?? []).filter(
        (x) => x.system === true && x.text.includes("disappearing"),
      );
      assert.deepEqual(
        system.map((x) => x.text),
        [line],
      );
    }
    assert.ok(bob.changes.some((c) => c.type === "message" && c.message.text === line));
  });

  it("removes the messages sent under the timer from every device once it runs out, and keeps the rest", async () => {
    await alice.model.send(roomId, "gone in an hour");
    await until(async () => texts(bob).includes("gone in an hour"), "bob has it");
    const sent = nextEvent(alice.user.client, "message", (m) => m.roomId === roomId && m.text === "from bob");
    await bob.model.send(roomId, "from bob");
    await sent;
    await until(async () => texts(alice).includes("from bob"), "alice has it");
    for (const m of [alice, bob]) {
      await until(async () => (await kept(m)).includes("from bob"), "kept before the hour");
    }

    // The server stamps messages with the real time, which runs on while the test clock stands:
    // ten minutes more than the hour leaves room for however long the test took.
    clock.advance(HOUR_MS + 10 * 60_000);
    for (const m of [alice, bob]) {
      assert.ok(!texts(m).includes("gone in an hour"), "gone from view");
      assert.ok(!texts(m).includes("from bob"), "gone from view");
      assert.ok(texts(m).includes("before"), "a message from before the timer stays");
      await until(async () => !(await kept(m)).includes("gone in an hour"), "gone from the store");
      assert.ok(!(await kept(m)).includes("from bob"));
      assert.ok((await kept(m)).includes("before"));
    }
  });

  it("removes at load what ran out while the device was away", async () => {
    await alice.model.send(roomId, "expires while away");
    await until(async () => (await kept(bob)).includes("expires while away"), "kept by bob");
    clock.advance(30 * 60_000);
    // A new model on bob's store, as an app restart would make, half an hour later... then more.
    const later = new ChatModel(bob.user.client, {
      history: new History(bob.store),
      now: () => clock.now + HOUR_MS,
      timers: clock,
    });
    try {
      await later.restoreHistory();
      const list = (later.snapshot.messages[roomId] ?? []).map((x) => x.text);
      assert.ok(!list.includes("expires while away"), "removed at load");
      assert.ok(list.includes("before"));
      assert.equal(later.snapshot.disappearing[roomId], 3_600, "the timer is kept with the history");
    } finally {
      later.dispose();
    }
  });

  it("turns off for everyone, and later messages stay", async () => {
    await bob.model.setDisappearing(roomId, 0);
    await until(async () => alice.model.snapshot.disappearing[roomId] === undefined, "alice's timer off");
    const line = `${bob.user.username} turned off disappearing messages`;
    await until(async () => texts(alice).includes(line), "the line at alice");
    assert.ok(texts(bob).includes(line));
    await alice.model.send(roomId, "here to stay");
    await until(async () => texts(bob).includes("here to stay"), "bob has it");
    clock.advance(8 * 24 * HOUR_MS);
    for (const m of [alice, bob]) assert.ok(texts(m).includes("here to stay"));
  });

  it("ignores a timer no client offers, sent by a member's own code", async () => {
    const seen = nextEvent(bob.user.client, "message", (m) => m.roomId === roomId && m.text === undefined);
    await alice.user.client.send(roomId, { data: { kind: "disappearing", seconds: 1 } });
    await seen;
    // Handled in order after the event: a text sent next is a sync point.
    const after = nextEvent(bob.user.client, "message", (m) => m.roomId === roomId && m.text === "sync");
    await alice.user.client.send(roomId, "sync");
    await after;
    await until(async () => texts(bob).includes("sync"), "bob's model has the sync message");
    assert.equal(bob.model.snapshot.disappearing[roomId], undefined);
  });

  it("tells a member added later the timer in force, without a second line for the others", async () => {
    await alice.model.setDisappearing(roomId, 86_400);
    const line = `${alice.user.username} set disappearing messages to 1 day`;
    await until(async () => bob.model.snapshot.disappearing[roomId] === 86_400, "bob's timer");
    const carol = await member("carol");
    try {
      await alice.user.client.invite(roomId, carol.user.id);
      await carol.user.client.join(roomId);
      await until(async () => carol.model.snapshot.disappearing[roomId] === 86_400, "carol learns the timer");
      assert.ok(texts(carol).includes(line), "carol sees which timer is set, and by whom");
      // A text after the restatement is a sync point: bob has handled the restatement by then.
      await alice.model.send(roomId, "welcome carol");
      await until(
        async () => texts(bob).includes("welcome carol") && texts(carol).includes("welcome carol"),
        "sync",
      );
      for (const m of [alice, bob]) {
        assert.equal(texts(m).filter((t) => t === line).length, 1, "one line, not a second one");
        assert.equal(m.model.snapshot.disappearing[roomId], 86_400);
      }
    } finally {
      carol.model.dispose();
      await carol.user.client.close();
    }
  });
});
