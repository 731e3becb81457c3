import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Timers } from "../platform.js";
import {
  describeDisappearing,
  formatRetention,
  isDisappearingSeconds,
  maxAgeMs,
  nextRemoval,
  parseDisappearing,
  parseRetention,
  pruneMessages,
  RemovalTimer,
  removalTime,
} from "./retention.js";
import type { ChatMessage } from "./types.js";

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

const msg = (key: string, ts: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  key,
  roomId: "AAAAAA",
  fromId: "u1",
  fromName: "alice",
  ts,
  text: key,
  own: false,
  ...extra,
});

/** Timers driven by the test: `fire()` runs what is due at the given time. */
class ManualTimers implements Timers {
  pending = new Map<number, { at: number; run: () => void }>();
  #next = 0;
  now = 0;
  setTimeout(run: () => void, ms: number): unknown {
    this.#next += 1;
    this.pending.set(this.#next, { at: this.now + ms, run });
    return this.#next;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  fire(now: number): void {
    this.now = now;
    for (const [id, t] of [...this.pending]) {
      if (t.at > now) continue;
      this.pending.delete(id);
      t.run();
    }
  }
}

describe("retention settings", () => {
  it("reads and writes keep-everything, keep-N-days and keep-nothing", () => {
    for (const text of ["all", "none", "1d", "7d", "30d", "90d"]) {
      const r = parseRetention(text);
      assert.ok(r !== undefined, text);
      assert.equal(formatRetention(r), text);
    }
    assert.deepEqual(parseRetention("on"), { keep: "all" });
    assert.deepEqual(parseRetention("off"), { keep: "none" });
  });

  it("refuses anything else, day counts not offered included", () => {
    for (const text of [undefined, "", "2d", "7", "d", "forever", "-1d", "1000d"]) {
      assert.equal(parseRetention(text), undefined, String(text));
    }
  });

  it("limits the age only when keeping N days", () => {
    assert.equal(maxAgeMs({ keep: "all" }), undefined);
    assert.equal(maxAgeMs({ keep: "none" }), undefined);
    assert.equal(maxAgeMs({ keep: "days", days: 7 }), 7 * DAY);
  });
});

describe("disappearing timers", () => {
  it("offers off, 1 hour, 1 day and 1 week, and nothing else", () => {
    assert.deepEqual(
      ["off", "1h", "1d", "1w"].map((t) => parseDisappearing(t)),
      [0, 3_600, 86_400, 604_800],
    );
    assert.equal(parseDisappearing("2h"), undefined);
    assert.equal(parseDisappearing("__proto__"), undefined);
    assert.equal(describeDisappearing(86_400), "1 day");
    assert.equal(describeDisappearing(0), "off");
  });

  it("accepts from a control message only the timers every client knows", () => {
    for (const s of [0, 3_600, 86_400, 604_800]) assert.ok(isDisappearingSeconds(s));
    for (const s of [1, -3_600, 3_600.5, "3600", null, undefined, Number.NaN]) {
      assert.equal(isDisappearingSeconds(s), false, String(s));
    }
  });
});

describe("removal", () => {
  it("removes a message at the earlier of its age limit and its disappearing time", () => {
    assert.equal(removalTime(msg("a", NOW), undefined), undefined);
    assert.equal(removalTime(msg("a", NOW), DAY), NOW + DAY);
    assert.equal(removalTime(msg("a", NOW, { expiresAt: NOW + 10 }), DAY), NOW + 10);
    assert.equal(removalTime(msg("a", NOW, { expiresAt: NOW + 2 * DAY }), DAY), NOW + DAY);
    assert.equal(removalTime(msg("a", NOW, { expiresAt: NOW + 10 }), undefined), NOW + 10);
  });

  it("drops what is due, keeps the rest, and leaves untouched conversations as they were", () => {
    const a = [msg("old", NOW - 8 * DAY), msg("new", NOW - DAY)];
    const b = [msg("b", NOW - DAY, { roomId: "BBBBBB" })];
    const { messages, changed } = pruneMessages({ AAAAAA: a, BBBBBB: b }, NOW, 7 * DAY);
    assert.deepEqual(
      messages.AAAAAA?.map((m) => m.key),
      ["new"],
    );
    assert.equal(messages.BBBBBB, b);
    assert.deepEqual(changed, ["AAAAAA"]);
  });

  it("drops a disappearing message once its time has come, not before", () => {
    const list = [msg("x", NOW - 1000, { expiresAt: NOW })];
    assert.deepEqual(pruneMessages({ AAAAAA: list }, NOW - 1, undefined).changed, []);
    assert.deepEqual(pruneMessages({ AAAAAA: list }, NOW, undefined).messages.AAAAAA, []);
  });

  it("keeps a message still being sent, whatever its local time", () => {
    const list = [msg("s", NOW - 100 * DAY, { status: "sending" })];
    assert.deepEqual(pruneMessages({ AAAAAA: list }, NOW, DAY).changed, []);
  });

  it("names the next removal after now, or none", () => {
    const messages = {
      AAAAAA: [msg("a", NOW - DAY, { expiresAt: NOW + 50 }), msg("b", NOW)],
      BBBBBB: [msg("c", NOW - 2000, { expiresAt: NOW - 1 })],
    };
    assert.equal(nextRemoval(messages, NOW, undefined), NOW + 50);
    // Under a half-day limit "a" is already due (a sweep removes it): the next is "b"'s age.
    assert.equal(nextRemoval(messages, NOW, DAY / 2), NOW + DAY / 2);
    assert.equal(nextRemoval({ AAAAAA: [msg("b", NOW)] }, NOW, undefined), undefined);
  });
});

describe("RemovalTimer", () => {
  it("runs once at the time given, and a new schedule replaces the old", () => {
    const timers = new ManualTimers();
    let runs = 0;
    const timer = new RemovalTimer(timers, () => {
      runs += 1;
    });
    timer.schedule(100, 0);
    timer.schedule(50, 0);
    assert.equal(timers.pending.size, 1);
    timers.fire(49);
    assert.equal(runs, 0);
    timers.fire(50);
    assert.equal(runs, 1);
    timers.fire(100);
    assert.equal(runs, 1);
  });

  it("waits at most a day at a time, and nothing once stopped", () => {
    const timers = new ManualTimers();
    let runs = 0;
    const timer = new RemovalTimer(timers, () => {
      runs += 1;
    });
    timer.schedule(90 * DAY, 0);
    assert.equal([...timers.pending.values()][0]?.at, DAY);
    timer.stop();
    assert.equal(timers.pending.size, 0);
    timer.schedule(10, 0);
    timers.fire(DAY);
    assert.equal(runs, 0);
  });
});
