import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { searchMessages } from "./search.js";
import type { ChatMessage } from "./types.js";

const msg = (roomId: string, ts: number, text: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  key: String(ts).padStart(32, "0"),
  roomId,
  fromId: "u-bob",
  fromName: "bob",
  ts,
  text,
  own: false,
  ...extra,
});

describe("searchMessages (CHAT-6)", () => {
  const history = {
    A: [
      msg("A", 1, "alpha beta"),
      msg("A", 3, "gamma"),
      msg("A", 5, "beta\ngamma"),
      msg("A", 7, "Ünïcode BETA"),
    ],
    B: [
      msg("B", 2, "beta"),
      msg("B", 4, "beta secret", { deleted: true, text: "" }),
      msg("B", 6, "beta", { system: true }),
    ],
  };

  it("finds every word within one message only, never across two", () => {
    assert.deepEqual(
      searchMessages(history, "gamma beta").map((m) => m.ts),
      [5],
    );
    assert.deepEqual(searchMessages(history, "alpha gamma"), []);
  });

  it("returns hits of every conversation newest first, up to the limit", () => {
    assert.deepEqual(
      searchMessages(history, "beta").map((m) => m.ts),
      [7, 5, 2, 1],
    );
    assert.deepEqual(
      searchMessages(history, "BETA", { limit: 2 }).map((m) => m.ts),
      [7, 5],
    );
    assert.deepEqual(
      searchMessages(history, "beta", { roomId: "B" }).map((m) => m.ts),
      [2],
    );
  });

  it("ignores case and accents, and skips deleted messages and system lines", () => {
    assert.deepEqual(
      searchMessages(history, "unicode").map((m) => m.ts),
      [7],
    );
    assert.deepEqual(searchMessages(history, "secret"), []);
    assert.deepEqual(searchMessages(history, ""), []);
    assert.deepEqual(searchMessages({}, "beta"), []);
  });

  it("sees a new list of a conversation, not the one searched before", () => {
    const first = { A: [msg("A", 1, "old words")] };
    assert.equal(searchMessages(first, "fresh").length, 0);
    const next = { A: [...first.A, msg("A", 2, "fresh words")] };
    assert.deepEqual(
      searchMessages(next, "words").map((m) => m.ts),
      [2, 1],
    );
  });
});
