import { after, before, describe, it } from "node:test";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import { openConversation, openDirect, peopleEntry, sendMessage, waitForMessage } from "./support/ui.js";
import { waitForAttribute } from "./support/wait.js";

// Issue 4: "a roster of users with online/offline dots". Someone who was signed in before a
// colleague registered must see the colleague appear, and be able to message them, without a reload.

describe("the People roster", () => {
  let s: E2eSuite;
  let early: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    early = await newPerson(s, "early");
  });
  after(async () => {
    await s?.close();
  });

  it("lists someone who registered after you signed in, online, and lets you message them", (t) =>
    s.check(t, async () => {
      const late = await newPerson(s, "late");
      const entry = peopleEntry(early.page, late.username);
      await waitForAttribute(entry, "data-presence", "online");
      await openDirect(early.page, late.username);
      await sendMessage(early.page, "Welcome aboard.");
      await openConversation(late.page, early.username);
      await waitForMessage(late.page, early.username, "Welcome aboard.");
    }));
});
