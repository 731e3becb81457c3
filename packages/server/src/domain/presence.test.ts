import assert from "node:assert/strict";
import { test } from "node:test";
import { PRESENCE_BATCH_MAX } from "@parley/protocol";
import { asUserId } from "./ids.js";
import { PresenceBatcher, type PresenceChange, presenceFrames } from "./presence.js";

/** Timers the test fires by hand. */
function manualTimers() {
  const due: { f: () => void; ms: number; cleared: boolean }[] = [];
  return {
    due,
    timers: {
      setTimeout: (f: () => void, ms: number) => {
        const t = { f, ms, cleared: false };
        due.push(t);
        return t;
      },
      clearTimeout: (t: unknown) => {
        (t as { cleared: boolean }).cleared = true;
      },
    },
    fire() {
      const live = due.filter((t) => !t.cleared);
      due.length = 0;
      for (const t of live) t.f();
    },
  };
}

const change = (n: number, online = true): PresenceChange => ({
  userId: asUserId(`u${n}`),
  username: `user${n}`,
  online,
});

test("changes within a window go out together, once per user in the latest state, in order", () => {
  const clock = manualTimers();
  const flushed: PresenceChange[][] = [];
  const batcher = new PresenceBatcher({ flush: (c) => flushed.push(c), windowMs: 50, timers: clock.timers });
  batcher.add(change(1));
  batcher.add(change(2));
  batcher.add(change(1, false)); // u1 went away again: announced once, offline, after u2
  assert.equal(clock.due.length, 1, "one timer per window");
  assert.equal(clock.due[0]?.ms, 50);
  assert.deepEqual(flushed, [], "nothing before the window ends");
  clock.fire();
  assert.deepEqual(flushed, [[change(2), change(1, false)]]);

  // The next change opens a new window.
  batcher.add(change(3));
  clock.fire();
  assert.deepEqual(flushed.at(-1), [change(3)]);
  clock.fire();
  assert.equal(flushed.length, 2, "an empty window sends nothing");
});

test("stop drops what is pending; flushNow hands it over at once", () => {
  const clock = manualTimers();
  const flushed: PresenceChange[][] = [];
  const batcher = new PresenceBatcher({ flush: (c) => flushed.push(c), timers: clock.timers });
  batcher.add(change(1));
  batcher.flushNow();
  assert.deepEqual(flushed, [[change(1)]]);
  batcher.add(change(2));
  batcher.stop();
  clock.fire();
  assert.deepEqual(flushed, [[change(1)]]);
});

test("one change is a presence frame; more are presence.batch frames of bounded size", () => {
  assert.deepEqual(presenceFrames([change(7, false)]), [
    { type: "presence", userId: "u7", username: "user7", online: false },
  ]);
  assert.deepEqual(presenceFrames([]), []);
  const many = Array.from({ length: PRESENCE_BATCH_MAX + 1 }, (_, i) => change(i));
  const frames = presenceFrames(many);
  assert.deepEqual(
    frames.map((f) => (f.type === "presence.batch" ? f.users.length : 1)),
    [PRESENCE_BATCH_MAX, 1],
  );
  assert.ok(frames.every((f) => f.type === "presence.batch"));
  const last = frames[1];
  assert.deepEqual(last?.type === "presence.batch" && last.users[0], {
    userId: `u${PRESENCE_BATCH_MAX}`,
    username: `user${PRESENCE_BATCH_MAX}`,
    online: true,
  });
});
