import assert from "node:assert/strict";
import { describe, it } from "node:test";
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

function state(): ChatState {
  const s = new ChatState();
  s.setRooms([
    room("AAAAAA", "team"),
    room("BBBBBB", "ops"),
    room("CCCCCC", "ops"),
    room("DDDDDD", "", "direct"),
  ]);
  s.setPeer("DDDDDD", { id: "u-alice", username: "Alice" });
  return s;
}

describe("ChatState", () => {
  it("names rooms with # and direct conversations with @ and the other user", () => {
    const s = state();
    assert.equal(s.label("aaaaaa"), "#team");
    assert.equal(s.label("DDDDDD"), "@Alice");
    assert.equal(s.label("ZZZZZZ"), "#ZZZZZZ");
  });

  it("resolves /switch targets by id, name, #name and @user", () => {
    const s = state();
    assert.deepEqual(s.resolve("aaaaaa"), { roomId: "AAAAAA" });
    assert.deepEqual(s.resolve("team"), { roomId: "AAAAAA" });
    assert.deepEqual(s.resolve("#TEAM"), { roomId: "AAAAAA" });
    assert.deepEqual(s.resolve("@alice"), { roomId: "DDDDDD" });
  });

  it("refuses an ambiguous name, an unknown room and a direct conversation not opened", () => {
    const s = state();
    assert.match((s.resolve("ops") as { error: string }).error, /several rooms/);
    assert.match((s.resolve("#nope") as { error: string }).error, /no room/);
    assert.match((s.resolve("@bob") as { error: string }).error, /no direct conversation with bob/);
  });

  it("shows the current conversation in the prompt and drops it when the room goes", () => {
    const s = state();
    assert.equal(s.prompt(), "> ");
    s.setCurrent("aaaaaa");
    assert.equal(s.prompt(), "#team> ");
    s.removeRoom("AAAAAA");
    assert.equal(s.current, undefined);
    assert.equal(s.prompt(), "> ");
  });

  it("says on the prompt who is typing in the current conversation, without their control characters", () => {
    const s = state();
    assert.equal(s.prompt(["alice"]), "> ", "no conversation open");
    s.setCurrent("aaaaaa");
    assert.equal(s.prompt(["alice"]), "#team (alice typing)> ");
    assert.equal(s.prompt(["alice", "bob"]), "#team (alice, bob typing)> ");
    assert.equal(s.prompt(["alice", "bob", "carol"]), "#team (3 typing)> ");
    assert.ok(!s.prompt(["e\u001b[2Jvil"]).includes("\u001b"));
  });

  it("finds users by name the way the server compares them", () => {
    const s = state();
    s.learn({ id: "u-bob", username: "Bob" });
    assert.equal(s.idOf("bob"), "u-bob");
    assert.equal(s.idOf("ALICE"), "u-alice");
    assert.equal(s.idOf("carol"), undefined);
  });

  it("tracks who is followed, and forgets it all on reset", () => {
    const s = state();
    s.me = { id: "u-me", username: "me" };
    s.setFollowing([{ id: "u-bob", username: "bob" }]);
    assert.ok(s.follows("u-bob"));
    s.unfollow("u-bob");
    assert.ok(!s.follows("u-bob"));
    s.follow({ id: "u-bob", username: "bob" });
    s.reset();
    assert.ok(!s.follows("u-bob"));
    assert.equal(s.me, undefined);
    assert.deepEqual(s.rooms(), []);
  });
});
