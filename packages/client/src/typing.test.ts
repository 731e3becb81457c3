import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import {
  TYPING_IDLE_MS,
  TYPING_REPEAT_MS,
  TYPING_SHOWN_MS,
  TypingNotifier,
  TypingRoster,
  type Typist,
} from "./typing.js";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

const names = (typists: readonly Typist[]) => typists.map((t) => t.username);

describe("TypingRoster", () => {
  it("shows typists in the order they started, until they stop or their indicator lapses", () => {
    const seen: Array<[string, string[]]> = [];
    const roster = new TypingRoster((roomId, typists) => seen.push([roomId, names(typists)]));
    roster.update({ roomId: "R", userId: "a", username: "alice", active: true });
    mock.timers.tick(1_000);
    roster.update({ roomId: "R", userId: "b", username: "bob", active: true });
    roster.update({ roomId: "S", userId: "a", username: "alice", active: true });
    assert.deepEqual(names(roster.typists("R")), ["alice", "bob"]);
    roster.update({ roomId: "R", userId: "b", username: "bob", active: false });
    assert.deepEqual(names(roster.typists("R")), ["alice"]);
    // alice never says she stopped in R: her indicator lapses, in S as well.
    mock.timers.tick(TYPING_SHOWN_MS - 1_000);
    assert.deepEqual(roster.typists("R"), []);
    assert.deepEqual(names(roster.typists("S")), ["alice"]);
    mock.timers.tick(1_000);
    assert.deepEqual(roster.typists("S"), []);
    assert.deepEqual(seen, [
      ["R", ["alice"]],
      ["R", ["alice", "bob"]],
      ["S", ["alice"]],
      ["R", ["alice"]],
      ["R", []],
      ["S", []],
    ]);
  });

  it("keeps an indicator while it is refreshed, and ignores a stop for someone not typing", () => {
    let changes = 0;
    const roster = new TypingRoster(() => changes++);
    const alice = { roomId: "R", userId: "a", username: "alice" };
    roster.update({ ...alice, active: true });
    for (let i = 0; i < 5; i++) {
      mock.timers.tick(TYPING_REPEAT_MS);
      roster.update({ ...alice, active: true });
    }
    assert.deepEqual(names(roster.typists("R")), ["alice"]);
    roster.update({ roomId: "R", userId: "z", username: "zoe", active: false });
    assert.equal(changes, 6, "no change for zoe");
    roster.clear();
    mock.timers.tick(TYPING_SHOWN_MS);
    assert.equal(changes, 6, "cleared: no lapse reported afterwards");
    assert.deepEqual(roster.typists("R"), []);
  });
});

describe("TypingNotifier", () => {
  it("says typing at once, repeats it while typing goes on, and says stopped after a pause", () => {
    const sent: Array<[string, boolean]> = [];
    const notifier = new TypingNotifier((roomId, active) => sent.push([roomId, active]));
    notifier.typed("R");
    for (let t = 0; t < TYPING_REPEAT_MS * 2; t += 500) {
      mock.timers.tick(500);
      notifier.typed("R");
    }
    assert.deepEqual(sent, [
      ["R", true],
      ["R", true],
      ["R", true],
    ]);
    mock.timers.tick(TYPING_IDLE_MS);
    assert.deepEqual(sent.at(-1), ["R", false]);
    assert.equal(sent.length, 4);
    mock.timers.tick(TYPING_IDLE_MS);
    assert.equal(sent.length, 4, "stopped once");
  });

  it("stops in the old room when typing moves, and on stop() only after typing was said", () => {
    const sent: Array<[string, boolean]> = [];
    const notifier = new TypingNotifier((roomId, active) => sent.push([roomId, active]));
    notifier.stop();
    assert.deepEqual(sent, []);
    notifier.typed("R");
    notifier.typed("S");
    notifier.stop();
    assert.deepEqual(sent, [
      ["R", true],
      ["R", false],
      ["S", true],
      ["S", false],
    ]);
    mock.timers.tick(TYPING_IDLE_MS);
    assert.equal(sent.length, 4);
  });
});
