import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AVATAR_COLOURS, avatarColour, initials } from "./avatar.js";

describe("avatars", () => {
  it("takes one or two initials from a name's parts", () => {
    assert.equal(initials("alice"), "A");
    assert.equal(initials("ana-lima"), "AL");
    assert.equal(initials("jean.paul_sartre"), "JP");
    assert.equal(initials("émile"), "É");
    assert.equal(initials("__"), "_");
  });

  it("gives a user id the same colour every time, and spreads ids over the palette", () => {
    assert.equal(avatarColour("u_123"), avatarColour("u_123"));
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const c = avatarColour(`user-${i}`);
      assert.ok(Number.isInteger(c) && c >= 0 && c < AVATAR_COLOURS, `colour ${c}`);
      seen.add(c);
    }
    assert.equal(seen.size, AVATAR_COLOURS, "some colours are never used");
  });
});
