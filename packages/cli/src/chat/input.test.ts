import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseInput } from "./input.js";

describe("parseInput", () => {
  it("sends a plain line to the current room, trimmed", () => {
    assert.deepEqual(parseInput("  hello there "), { kind: "say", text: "hello there" });
  });

  it("sends a line starting with // as a message beginning with /", () => {
    assert.deepEqual(parseInput("//shrug"), { kind: "say", text: "/shrug" });
  });

  it("ignores an empty line", () => {
    assert.deepEqual(parseInput("   "), { kind: "empty" });
  });

  it("parses commands with their arguments, case-insensitively, with @ before user names", () => {
    assert.deepEqual(parseInput("/REGISTER alice"), {
      kind: "register",
      user: "alice",
      inviteCode: undefined,
    });
    assert.deepEqual(parseInput("/register alice ABCD-EFGH"), {
      kind: "register",
      user: "alice",
      inviteCode: "ABCD-EFGH",
    });
    assert.deepEqual(parseInput("/login @bob"), { kind: "login", user: "bob" });
    assert.deepEqual(parseInput("/join k7m2pq"), { kind: "join", roomId: "k7m2pq" });
    assert.deepEqual(parseInput("/create Night shift"), {
      kind: "create",
      name: "Night shift",
      isPublic: false,
      maxMembers: undefined,
      passphrase: false,
    });
    assert.deepEqual(parseInput("/verify carol"), { kind: "verify", user: "carol" });
    assert.deepEqual(parseInput("/subscribe dan"), { kind: "subscribe", user: "dan" });
    assert.deepEqual(parseInput("/notify"), { kind: "notify", level: undefined });
    assert.deepEqual(parseInput("/notify mentions"), { kind: "notify", level: "mentions" });
    assert.deepEqual(parseInput("/notify off"), { kind: "notify", level: "off" });
    assert.equal(parseInput("/notify loud").kind, "invalid");
    assert.equal(parseInput("/notify all off").kind, "invalid");
    assert.deepEqual(parseInput("/unsubscribe dan"), { kind: "unsubscribe", user: "dan" });
    assert.deepEqual(parseInput("/open @erin"), { kind: "switch", target: "@erin" });
    assert.deepEqual(parseInput("/who"), { kind: "who" });
    assert.deepEqual(parseInput("/quit"), { kind: "quit" });
  });

  it("keeps the spacing of a direct message's text", () => {
    assert.deepEqual(parseInput("/msg alice  see   you at 5"), {
      kind: "msg",
      user: "alice",
      text: "see   you at 5",
    });
  });

  it("answers a missing or extra argument with the command's usage", () => {
    for (const line of ["/login", "/login a b", "/join", "/msg alice", "/create", "/verify", "/register"]) {
      const parsed = parseInput(line);
      assert.equal(parsed.kind, "invalid", line);
      assert.match((parsed as { reason: string }).reason, /^usage: \//, line);
    }
    assert.deepEqual(parseInput("/rooms all"), { kind: "invalid", reason: "/rooms takes no arguments" });
  });

  it("parses /devices with or without a user, and /reset-identity without arguments", () => {
    assert.deepEqual(parseInput("/devices"), { kind: "devices", user: undefined });
    assert.deepEqual(parseInput("/devices @bob"), { kind: "devices", user: "bob" });
    assert.equal(parseInput("/devices bob carol").kind, "invalid");
    assert.deepEqual(parseInput("/reset-identity"), { kind: "reset-identity" });
    assert.equal(parseInput("/reset-identity now").kind, "invalid");
  });

  it("parses room privacy, cap and passphrase at creation, private by default (ROOM-2)", () => {
    assert.deepEqual(parseInput("/create --public Night shift --cap 12 --passphrase"), {
      kind: "create",
      name: "Night shift",
      isPublic: true,
      maxMembers: 12,
      passphrase: true,
    });
    for (const line of [
      "/create --public",
      "/create ops --cap",
      "/create ops --cap 1",
      "/create ops --frob",
    ]) {
      assert.equal(parseInput(line).kind, "invalid", line);
    }
  });

  it("parses the directory, invitations and room settings commands", () => {
    assert.deepEqual(parseInput("/rooms --all"), { kind: "directory", query: undefined });
    assert.deepEqual(parseInput("/directory night sh"), { kind: "directory", query: "night sh" });
    assert.deepEqual(parseInput("/join Night shift"), { kind: "join", roomId: "Night shift" });
    assert.deepEqual(parseInput("/accept ops"), { kind: "accept", room: "ops" });
    assert.deepEqual(parseInput("/decline K7M2PQ"), { kind: "decline", room: "K7M2PQ" });
    assert.deepEqual(parseInput("/remove @bob"), { kind: "kick", user: "bob" });
    assert.deepEqual(parseInput("/mod bob"), { kind: "mod", user: "bob", role: "moderator" });
    assert.deepEqual(parseInput("/unmod bob"), { kind: "mod", user: "bob", role: "member" });
    assert.deepEqual(parseInput("/rename ops room"), { kind: "rename", name: "ops room" });
    assert.deepEqual(parseInput("/topic"), { kind: "topic", topic: "" });
    assert.deepEqual(parseInput("/privacy public"), { kind: "privacy", isPublic: true });
    assert.deepEqual(parseInput("/cap off"), { kind: "cap", maxMembers: null });
    assert.deepEqual(parseInput("/cap 5"), { kind: "cap", maxMembers: 5 });
    assert.deepEqual(parseInput("/passphrase on"), { kind: "passphrase", on: true });
    assert.deepEqual(parseInput("/delete-room ops"), { kind: "delete-room", confirm: "ops" });
    assert.deepEqual(parseInput("/recovery-codes"), { kind: "recovery-codes" });
    for (const line of [
      "/recovery-codes now",
      "/privacy open",
      "/cap 1",
      "/cap x",
      "/passphrase",
      "/mod",
      "/delete-room",
      "/password now",
    ]) {
      assert.equal(parseInput(line).kind, "invalid", line);
    }
  });

  it("parses /devices remove with one device number, and refuses anything else", () => {
    assert.deepEqual(parseInput("/devices remove 2"), { kind: "device-remove", n: 2 });
    for (const bad of ["/devices remove", "/devices remove 0", "/devices remove two", "/devices remove 1 2"])
      assert.equal(parseInput(bad).kind, "invalid", bad);
  });

  it("names an unknown command and points at /help", () => {
    assert.deepEqual(parseInput("/frob x"), { kind: "invalid", reason: "unknown command /frob (see /help)" });
  });

  it("parses /reply, /react, /edit, /delete, /search and /goto by message number", () => {
    assert.deepEqual(parseInput("/reply 3 sounds good"), { kind: "reply", n: 3, text: "sounds good" });
    assert.deepEqual(parseInput("/reply #3 ok"), { kind: "reply", n: 3, text: "ok" });
    assert.deepEqual(parseInput("/react 4 👍🏽"), { kind: "react", n: 4, emoji: "👍🏽" });
    assert.deepEqual(parseInput("/edit 5  fixed  text "), { kind: "edit", n: 5, text: "fixed  text" });
    assert.deepEqual(parseInput("/delete 6"), { kind: "delete", n: 6 });
    assert.deepEqual(parseInput("/search lunch  plans"), { kind: "search", query: "lunch  plans" });
    assert.deepEqual(parseInput("/goto 7"), { kind: "goto", n: 7 });
  });

  it("refuses those commands without a number, a text or one emoji", () => {
    for (const line of [
      "/reply",
      "/reply 3",
      "/reply x hi",
      "/reply 0 hi",
      "/react 3",
      "/react 3 👍 🎉",
      "/edit -1 x",
      "/delete",
      "/delete 2 3",
      "/search",
      "/goto x",
    ]) {
      assert.equal(parseInput(line).kind, "invalid", line);
    }
  });
});
