import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { badgeCount, defaultNotifyLevel, isNotifyLevel, type NotifyLevel, shouldAlert } from "./notify.js";

describe("shouldAlert (issue 18.5)", () => {
  const levels: NotifyLevel[] = ["all", "mentions", "off"];
  const flags = [false, true];

  it("decides every combination of level, mention, visibility and open conversation", () => {
    const rows: string[] = [];
    for (const level of levels)
      for (const mentioned of flags)
        for (const visible of flags)
          for (const open of flags)
            if (shouldAlert({ level, mentioned, visible, open }))
              rows.push(
                `${level}${mentioned ? " @me" : ""}${visible ? " visible" : ""}${open ? " open" : ""}`,
              );
    assert.deepEqual(rows, [
      "all",
      "all open",
      "all visible",
      "all @me",
      "all @me open",
      "all @me visible",
      "mentions @me",
      "mentions @me open",
      "mentions @me visible",
    ]);
  });

  it("never alerts in a muted conversation, even for a mention", () => {
    assert.equal(shouldAlert({ level: "off", mentioned: true, visible: false, open: false }), false);
  });

  it("does not alert for the conversation the person is looking at", () => {
    assert.equal(shouldAlert({ level: "all", mentioned: true, visible: true, open: true }), false);
  });

  it("alerts for the open conversation of a page in the background", () => {
    assert.equal(shouldAlert({ level: "all", mentioned: false, visible: false, open: true }), true);
  });
});

describe("defaultNotifyLevel", () => {
  it("is all for a direct conversation and mentions for a room", () => {
    assert.equal(defaultNotifyLevel({ kind: "direct" }), "all");
    assert.equal(defaultNotifyLevel({ kind: "room" }), "mentions");
    assert.equal(defaultNotifyLevel(undefined), "mentions");
  });
});

describe("isNotifyLevel", () => {
  it("accepts the three levels only", () => {
    assert.deepEqual(["all", "mentions", "off", "muted", "", 1, null].map(isNotifyLevel), [
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe("badgeCount", () => {
  it("adds the unread counts of conversations that are not muted", () => {
    const level = (id: string): NotifyLevel => (id === "muted" ? "off" : id === "quiet" ? "mentions" : "all");
    assert.equal(badgeCount({ a: 2, quiet: 3, muted: 5 }, level), 5);
    assert.equal(badgeCount({}, level), 0);
  });
});
