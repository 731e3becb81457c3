import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MemberView } from "@parley/protocol";
import { roomView } from "../testing/rooms.js";
import {
  deviceNotesIn,
  filesIn,
  findConversation,
  invitationsTo,
  messageInContext,
  roleIn,
  roomOf,
} from "./lookup.js";
import { emptyChatSnapshot } from "./model.js";
import type { ChatAttachment, ChatMessage, ChatSnapshot } from "./types.js";

const room = roomView;
const member = (userId: string, role: MemberView["role"]): MemberView =>
  ({ userId, username: userId, role, online: true }) as MemberView;
const msg = (roomId: string, ts: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  key: `k${ts}`,
  roomId,
  fromId: "u-bob",
  fromName: "bob",
  ts,
  text: `m${ts}`,
  own: false,
  ...extra,
});
const file = { name: "a.pdf", type: "application/pdf", size: 3 } as unknown as ChatAttachment;

const snapshot: ChatSnapshot = {
  ...emptyChatSnapshot(),
  rooms: [room("AAAAAA", "team"), room("BBBBBB", "ops"), room("CCCCCC", "Ops"), room("DDDDDD", "", "direct")],
  peers: { DDDDDD: { id: "u-alice", username: "Alice" }, EEEEEE: { id: "u-carol", username: "carol" } },
  members: { AAAAAA: [member("u-me", "moderator"), member("u-bob", "owner")] },
  deviceNotes: [
    { userId: "u-bob", deviceId: "d1", kind: "added", at: 10 },
    { userId: "u-zed", deviceId: "d2", kind: "added", at: 20 },
    { userId: "u-bob", deviceId: "d1", kind: "removed", at: 30 },
  ],
  invitations: [
    { room: { id: "FFFFFF", name: "Plans" }, by: { id: "u-bob", username: "bob" } },
    { room: { id: "GGGGGG", name: "dup" }, by: { id: "u-bob", username: "bob" } },
    { room: { id: "HHHHHH", name: "DUP" }, by: { id: "u-bob", username: "bob" } },
  ] as unknown as ChatSnapshot["invitations"],
  messages: {
    AAAAAA: [1, 2, 3, 4, 5, 6, 7].map((ts) => msg("AAAAAA", ts, ts === 2 ? { attachment: file } : {})),
    BBBBBB: [msg("BBBBBB", 8, { attachment: file })],
  },
};

describe("findConversation", () => {
  it("finds a conversation by id in any case, by name or #name, and a direct one by @user", () => {
    assert.deepEqual(findConversation(snapshot, "aaaaaa"), { roomId: "AAAAAA" });
    assert.deepEqual(findConversation(snapshot, "TEAM"), { roomId: "AAAAAA" });
    assert.deepEqual(findConversation(snapshot, "#team"), { roomId: "AAAAAA" });
    assert.deepEqual(findConversation(snapshot, "@ALICE"), { roomId: "DDDDDD" });
  });

  it("tells an ambiguous name, an unknown one and a direct conversation not open apart", () => {
    assert.deepEqual(findConversation(snapshot, "ops"), { miss: "ambiguous" });
    assert.deepEqual(findConversation(snapshot, "#nope"), { miss: "unknown" });
    assert.deepEqual(findConversation(snapshot, "@bob"), { miss: "no_direct" });
    // A peer known from a conversation this user is no longer in is no conversation.
    assert.deepEqual(findConversation(snapshot, "@carol"), { miss: "no_direct" });
  });

  it("never takes a direct conversation's empty name for a room name", () => {
    assert.deepEqual(findConversation(snapshot, ""), { miss: "unknown" });
    assert.equal(roomOf(snapshot, "dddddd")?.kind, "direct");
  });
});

describe("snapshot lookups", () => {
  it("finds invitations by room id or name, any case, with or without #", () => {
    assert.deepEqual(
      invitationsTo(snapshot, "#plans").map((i) => i.room.id),
      ["FFFFFF"],
    );
    assert.deepEqual(
      invitationsTo(snapshot, "ffffff").map((i) => i.room.id),
      ["FFFFFF"],
    );
    assert.equal(invitationsTo(snapshot, "dup").length, 2);
    assert.deepEqual(invitationsTo(snapshot, "team"), []);
  });

  it("gives a member's role, and member for someone not loaded", () => {
    assert.equal(roleIn(snapshot, "AAAAAA", "u-me"), "moderator");
    assert.equal(roleIn(snapshot, "AAAAAA", "u-nobody"), "member");
    assert.equal(roleIn(snapshot, "BBBBBB", "u-me"), "member");
    assert.equal(roleIn(snapshot, "AAAAAA", undefined), "member");
  });

  it("keeps only device notes about the room's members, from the time asked", () => {
    assert.deepEqual(
      deviceNotesIn(snapshot, "AAAAAA").map((d) => d.at),
      [10, 30],
    );
    assert.deepEqual(
      deviceNotesIn(snapshot, "AAAAAA", 11).map((d) => d.at),
      [30],
    );
    assert.deepEqual(deviceNotesIn(snapshot, "BBBBBB"), []);
  });

  it("lists the messages with files, of one conversation or of all", () => {
    assert.deepEqual(
      filesIn(snapshot, "AAAAAA").map((m) => m.ts),
      [2],
    );
    assert.deepEqual(
      filesIn(snapshot).map((m) => m.ts),
      [2, 8],
    );
    assert.deepEqual(filesIn(snapshot, "DDDDDD"), []);
  });

  it("opens a message with the ones around it, clipped at the ends, and not one that is gone", () => {
    const around = (ts: number) =>
      messageInContext(snapshot, { roomId: "AAAAAA", key: `k${ts}`, fromId: "u-bob" }, 2)?.map((m) => m.ts);
    assert.deepEqual(around(4), [2, 3, 4, 5, 6]);
    assert.deepEqual(around(1), [1, 2, 3]);
    assert.deepEqual(around(7), [5, 6, 7]);
    assert.equal(messageInContext(snapshot, { roomId: "AAAAAA", key: "k4", fromId: "u-eve" }, 2), undefined);
  });
});
