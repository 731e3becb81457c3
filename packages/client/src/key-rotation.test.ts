// KeyRotation: when a device commits a self-update on its own (issue 13, part 5).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeyRotation, type KeyRotationPolicy } from "./key-rotation.js";
import type { Timers } from "./platform.js";
import { Scheduler } from "./scheduler.js";
import { MemoryStore } from "./store.js";

const DAY = 24 * 60 * 60 * 1000;

/** Timers run by hand: `run()` fires every timer that is due at the fake time. */
class ManualTimers implements Timers {
  now = 0;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  #next = 0;

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.#next;
    this.#timers.set(id, { at: this.now + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Moves the clock by `ms` and fires what is due, then lets the promises it started settle. */
  async advance(ms: number): Promise<void> {
    this.now += ms;
    for (const [id, t] of [...this.#timers]) {
      if (t.at > this.now) continue;
      this.#timers.delete(id);
      t.callback();
    }
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}

function setUp(
  options: {
    policy?: Partial<KeyRotationPolicy>;
    random?: number;
    store?: MemoryStore;
    online?: boolean;
  } = {},
) {
  const timers = new ManualTimers();
  const errors: unknown[] = [];
  const scheduler = new Scheduler(timers, (e) => errors.push(e));
  const updates: string[] = [];
  let online = options.online ?? true;
  const store = options.store ?? new MemoryStore();
  const rooms = ["ROOM01", "ROOM02"];
  const checks = { count: 0 };
  const rotation = new KeyRotation({
    store,
    scheduler,
    now: () => timers.now,
    random: () => options.random ?? 0,
    policy: { afterMessages: 5, afterMs: 7 * DAY, ...options.policy },
    update: async (roomId) => {
      if (!online) return false;
      updates.push(roomId);
      return true;
    },
    groupRooms: async () => {
      checks.count++;
      return rooms;
    },
  });
  return {
    rotation,
    timers,
    store,
    updates,
    errors,
    scheduler,
    checks,
    setOnline: (v: boolean) => {
      online = v;
    },
  };
}

describe("KeyRotation", () => {
  test("updates after the policy's number of messages sent, then counts afresh", async () => {
    const { rotation, timers, updates } = setUp();
    for (let i = 0; i < 4; i++) await rotation.sent("ROOM01");
    await timers.advance(30_000);
    assert.deepEqual(updates, [], "4 of 5: not yet");
    await rotation.sent("ROOM01");
    await timers.advance(30_000);
    assert.deepEqual(updates, ["ROOM01"]);
    for (let i = 0; i < 4; i++) await rotation.sent("ROOM01");
    await timers.advance(30_000);
    assert.deepEqual(updates, ["ROOM01"], "the count started again after the update");
  });

  test("counts every one of concurrent sends, and one update per room at a time", async () => {
    const { rotation, timers, updates } = setUp({ policy: { afterMessages: 10 } });
    await Promise.all(Array.from({ length: 12 }, () => rotation.sent("ROOM01")));
    await timers.advance(30_000);
    assert.deepEqual(updates, ["ROOM01"]);
  });

  test("jitter lowers a group's threshold by up to a fifth, never raises it", async () => {
    const { rotation, timers, updates } = setUp({ policy: { afterMessages: 10 }, random: 0.99 });
    await rotation.refreshed("ROOM01"); // draws the group's jitter: 0.99 -> 10 * (1 - 0.198)
    for (let i = 0; i < 8; i++) await rotation.sent("ROOM01");
    await timers.advance(30_000);
    assert.deepEqual(updates, [], "8 < 8.02");
    await rotation.sent("ROOM01");
    await timers.advance(30_000);
    assert.deepEqual(updates, ["ROOM01"]);
  });

  test("updates every group whose keys are older than the policy, checked on connect and hourly", async () => {
    const { rotation, timers, updates } = setUp();
    rotation.connected();
    await timers.advance(0); // the first check: both groups are seen now, at t = 0
    const hour = 60 * 60 * 1000;
    for (let h = 1; h < 7 * 24; h++) await timers.advance(hour);
    assert.deepEqual(updates, [], "younger than a week");
    await timers.advance(hour);
    await timers.advance(30_000);
    assert.deepEqual(updates.sort(), ["ROOM01", "ROOM02"]);
    for (let h = 0; h < 24; h++) await timers.advance(hour);
    assert.equal(updates.length, 2, "fresh again after the update");
  });

  test("a new connection's checks replace the old connection's", async () => {
    const { rotation, timers, checks } = setUp();
    rotation.connected();
    rotation.connected();
    await timers.advance(0);
    for (let h = 0; h < 3; h++) await timers.advance(60 * 60 * 1000);
    assert.equal(checks.count, 4, "at 0, 1, 2 and 3 hours: one chain, not two");
  });

  test("an update that could not be done is not counted as done", async () => {
    const { rotation, timers, updates, setOnline } = setUp({ online: false });
    for (let i = 0; i < 5; i++) await rotation.sent("ROOM01");
    await timers.advance(30_000);
    assert.deepEqual(updates, []);
    setOnline(true);
    await rotation.sent("ROOM01");
    await timers.advance(30_000);
    assert.deepEqual(updates, ["ROOM01"], "the next send finds it still due");
  });

  test("keeps its counts in the device store across restarts, and forgets a room left", async () => {
    const store = new MemoryStore();
    const first = setUp({ store });
    for (let i = 0; i < 3; i++) await first.rotation.sent("ROOM01");
    first.scheduler.close();
    const second = setUp({ store });
    await second.rotation.sent("ROOM01");
    await second.rotation.sent("ROOM01");
    await second.timers.advance(30_000);
    assert.deepEqual(second.updates, ["ROOM01"]);
    await second.rotation.forget("ROOM01");
    assert.equal(store.raw("key-age/ROOM01"), undefined);
  });

  test("a key-change review updates the rooms named, soon", async () => {
    const { rotation, timers, updates } = setUp({ random: 0.5 });
    rotation.soon(["ROOM01", "ROOM02"]);
    rotation.soon(["ROOM01"]);
    await timers.advance(30_000);
    assert.deepEqual(updates.sort(), ["ROOM01", "ROOM02"], "once each");
  });
});
