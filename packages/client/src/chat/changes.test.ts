import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MemberView } from "@parley/protocol";
import { excerpt, mentionParts, mentionsIn } from "./changes.js";
import { fold, queryWords } from "./search.js";

const members: MemberView[] = [
  { userId: "u-bob", username: "bob", role: "member", online: true },
  { userId: "u-ann", username: "ann.lee", role: "member", online: false },
];

describe("mentions (CHAT-5)", () => {
  it("finds members named with @, in any case, once each, and not inside an address", () => {
    assert.deepEqual(mentionsIn("@Bob and @ann.lee, again @bob; mail bob@bob or @nobody", members), [
      "u-bob",
      "u-ann",
    ]);
    assert.deepEqual(mentionsIn("no one", members), []);
  });

  it("cuts a text into plain parts and mention parts", () => {
    assert.deepEqual(mentionParts("hi @bob, and @ann.lee.", members), [
      { text: "hi " },
      { text: "@bob", userId: "u-bob" },
      { text: ", and " },
      { text: "@ann.lee", userId: "u-ann" },
      { text: "." },
    ]);
    assert.deepEqual(mentionParts("@nobody", members), [{ text: "@nobody" }]);
  });
});

describe("quotes (CHAT-1)", () => {
  it("puts a text on one line and cuts it by characters, emoji whole", () => {
    assert.equal(excerpt("  a\n\n b  "), "a b");
    assert.equal(excerpt("😀".repeat(100), 5), "😀😀😀😀…");
  });
});

describe("search folding (CHAT-6)", () => {
  it("ignores case and accents, and splits a query into words", () => {
    assert.equal(fold("CAFÉ Ñandú"), "cafe nandu");
    assert.deepEqual(queryWords("  Café   NOON "), ["cafe", "noon"]);
  });
});
