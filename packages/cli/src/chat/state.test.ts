import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ChatSnapshot, emptyChatSnapshot } from "@parley/client";
import type { RoomView } from "@parley/protocol";
import { ChatState } from "./state.js";

const room = (id: string, name: string, kind: RoomView["kind"] = "room"): RoomView => ({
  id,
  kind,
  name,
  topic: null,
  isPublic: kind === "room",
  ownerId: null,
  createdAt: 0,
});

function state(): { s: ChatState; chat: { snapshot: ChatSnapshot } } {
  const chat = {
    snapshot: {
      ...emptyChatSnapshot(),
      me: { id: "u-me", username: "me", isAdmin: false },
      rooms: [
        room("AAAAAA", "team"),
        room("BBBBBB", "ops"),
        room("CCCCCC", "ops"),
        room("DDDDDD", "", "direct"),
      ],
      peers: { DDDDDD: { id: "u-alice", username: "Alice" } },
    },
  };
  return { s: new ChatState(() => chat.snapshot), chat };
}

describe("ChatState", () => {
  it("names rooms with # and direct conversations with @ and the other user", () => {
    const { s } = state();
    assert.equal(s.label("aaaaaa"), "#team");
    assert.equal(s.label("DDDDDD"), "@Alice");
    assert.equal(s.label("ZZZZZZ"), "#ZZZZZZ");
  });

  it("resolves /switch targets by id, name, #name and @user", () => {
    const { s } = state();
    assert.deepEqual(s.resolve("aaaaaa"), { roomId: "AAAAAA" });
    assert.deepEqual(s.resolve("team"), { roomId: "AAAAAA" });
    assert.deepEqual(s.resolve("#TEAM"), { roomId: "AAAAAA" });
    assert.deepEqual(s.resolve("@alice"), { roomId: "DDDDDD" });
  });

  it("refuses an ambiguous name, an unknown room and a direct conversation not opened", () => {
    const { s } = state();
    assert.match((s.resolve("ops") as { error: string }).error, /several rooms/);
    assert.match((s.resolve("#nope") as { error: string }).error, /no room/);
    assert.match((s.resolve("@bob") as { error: string }).error, /no direct conversation with bob/);
  });

  it("shows the current conversation in the prompt and drops it when the room goes", () => {
    const { s, chat } = state();
    assert.equal(s.prompt(), "> ");
    s.setCurrent("aaaaaa");
    assert.equal(s.prompt(), "#team> ");
    chat.snapshot = { ...chat.snapshot, rooms: chat.snapshot.rooms.filter((r) => r.id !== "AAAAAA") };
    assert.equal(s.current, undefined);
    assert.equal(s.prompt(), "> ");
  });

  it("says on the prompt who is typing in the current conversation, without their control characters", () => {
    const { s, chat } = state();
    const typing = (...names: string[]) => {
      chat.snapshot = {
        ...chat.snapshot,
        typing: { AAAAAA: names.map((username) => ({ userId: `u-${username}`, username })) },
      };
    };
    typing("alice");
    assert.equal(s.prompt(), "> ", "no conversation open");
    s.setCurrent("aaaaaa");
    assert.equal(s.prompt(), "#team (alice typing)> ");
    typing("alice", "bob");
    assert.equal(s.prompt(), "#team (alice, bob typing)> ");
    typing("alice", "bob", "carol");
    assert.equal(s.prompt(), "#team (3 typing)> ");
    typing("e\u001b[2Jvil");
    assert.ok(!s.prompt().includes("\u001b"));
  });

  it("forgets the current conversation on reset", () => {
    const { s } = state();
    s.setCurrent("AAAAAA");
    s.reset();
    assert.equal(s.current, undefined);
  });
});
