import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { uniqueName } from "../integration/support/harness.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  conversationHeading,
  createRoom,
  messages,
  peopleEntry,
  sendMessage,
  waitForMessage,
} from "./support/ui.js";

// Issue 18.7 in the browser: following a person (SUB-1) offers the public rooms they post in;
// their posts are end-to-end encrypted for the room's members, so the follower joins to read
// what is said from then on, and never sees what was said before.

describe("following a person (SUB-1, SUB-2)", () => {
  let s: E2eSuite;
  let ben: Person;
  let cat: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    ben = await newPerson(s, "ben");
    cat = await newPerson(s, "cat");
  });
  after(async () => {
    await s?.close();
  });

  it("offers a followed person's public room, and after joining shows what they post next", (t) =>
    s.check(t, async () => {
      const follow = peopleEntry(cat.page, ben.username).getByRole("button", {
        name: `Follow ${ben.username}`,
      });
      await follow.click();
      const following = peopleEntry(cat.page, ben.username).getByRole("button", {
        name: `Unfollow ${ben.username}`,
      });
      assert.equal(await following.getAttribute("aria-pressed"), "true");

      const room = uniqueName("Lobby");
      const roomId = await createRoom(ben.page, room, { isPublic: true });
      await sendMessage(ben.page, "said before cat came");
      const offers = cat.page.getByRole("list", { name: "Followed posts" });
      const offer = offers.locator(`li[data-room="${roomId}"]`);
      await offer.waitFor();
      assert.match(
        (await offer.textContent()) ?? "",
        new RegExp(`${ben.username} posted in public room ${roomId}`),
      );

      await offer.getByRole("button", { name: `Join ${roomId}` }).click();
      await conversationHeading(cat.page, room).waitFor();
      await offers.waitFor({ state: "detached" });
      await sendMessage(ben.page, "welcome, follower");
      await waitForMessage(cat.page, ben.username, "welcome, follower");
      assert.equal(await messages(cat.page, ben.username, "said before cat came").count(), 0);
    }));

  it("stops offering once unfollowed, and a dismissed offer goes", (t) =>
    s.check(t, async () => {
      const hall = uniqueName("Hall");
      const hallId = await createRoom(ben.page, hall, { isPublic: true });
      await sendMessage(ben.page, "first in the hall");
      const offer = cat.page
        .getByRole("list", { name: "Followed posts" })
        .locator(`li[data-room="${hallId}"]`);
      await offer.waitFor();
      await offer.getByRole("button", { name: `Dismiss ${hallId}` }).click();
      await offer.waitFor({ state: "detached" });

      await peopleEntry(cat.page, ben.username)
        .getByRole("button", { name: `Unfollow ${ben.username}` })
        .click();
      await peopleEntry(cat.page, ben.username)
        .getByRole("button", { name: `Follow ${ben.username}` })
        .waitFor();
      const yard = uniqueName("Yard");
      const yardId = await createRoom(ben.page, yard, { isPublic: true });
      await sendMessage(ben.page, "nobody follows this");
      // Following again: the next post is offered, and the one sent while unfollowed never was.
      await peopleEntry(cat.page, ben.username)
        .getByRole("button", { name: `Follow ${ben.username}` })
        .click();
      const court = uniqueName("Court");
      const courtId = await createRoom(ben.page, court, { isPublic: true });
      await sendMessage(ben.page, "followed again");
      const offers = cat.page.getByRole("list", { name: "Followed posts" }).locator("li");
      await offers.first().waitFor();
      assert.deepEqual(await offers.evaluateAll((els) => els.map((e) => e.getAttribute("data-room"))), [
        courtId,
      ]);
      assert.notEqual(yardId, courtId);
    }));
});
