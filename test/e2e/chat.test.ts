import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { uniqueName } from "../integration/support/harness.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  acceptInvitation,
  composer,
  conversationButton,
  conversationHeading,
  createRoom,
  invite,
  joinRoom,
  messageLog,
  messages,
  openConversation,
  openDirect,
  peopleEntry,
  sendMessage,
  unreadBadge,
  waitForMessage,
} from "./support/ui.js";
import { until, WAIT_MS, waitForAttribute, waitForText } from "./support/wait.js";

// Issue 4, "Done means": two and three browser contexts register, create a room, invite, chat
// in both directions (MLS end to end through the SDK), join by id, DM, see presence, typing and
// delivered ticks, and lose no message while the connection is down.

describe("chat between browsers", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
    carol = await newPerson(s, "carol");
  });
  after(async () => {
    await s?.close();
  });

  it("creates a room, invites a second user, and both write and read in it", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Ops");
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      await acceptInvitation(bob.page, room);
      await alice.page
        .getByRole("list", { name: "Members" })
        .locator(`li[data-user="${bob.username}"]`)
        .waitFor();

      await sendMessage(alice.page, "Hello Bob, the build is green.");
      await waitForMessage(bob.page, alice.username, "Hello Bob, the build is green.");
      await waitForText(messageLog(bob.page).getByTestId("day").first(), "Today");
      // New messages are announced: the log is a polite live region.
      assert.equal(await messageLog(bob.page).getAttribute("aria-live"), "polite");
      // Bob's one device acknowledged it, and he has the room open (RCPT-2): two ticks, coloured.
      await waitForAttribute(
        messages(alice.page, alice.username, "the build is green").last(),
        "data-status",
        "read",
      );

      await sendMessage(bob.page, "Thanks Alice, deploying now.");
      await waitForMessage(alice.page, bob.username, "Thanks Alice, deploying now.");
      await waitForAttribute(messages(bob.page, bob.username, "deploying now").last(), "data-status", "read");
      // Each side shows the other's message once, and its own once.
      assert.equal(await messages(bob.page, alice.username, "the build is green").count(), 1);
      assert.equal(await messages(alice.page, bob.username, "deploying now").count(), 1);
      assert.equal(await messages(alice.page, alice.username, "the build is green").count(), 1);
    }));

  it("lets a third user join a room by its id and talk with both members", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Lab");
      const roomId = await createRoom(alice.page, room, { isPublic: true });
      await invite(alice.page, bob.username);
      await acceptInvitation(bob.page, room);
      await joinRoom(carol.page, roomId);
      await conversationHeading(carol.page, room).waitFor();

      await sendMessage(carol.page, "Carol here, joined by id.");
      await waitForMessage(alice.page, carol.username, "Carol here, joined by id.");
      await waitForMessage(bob.page, carol.username, "Carol here, joined by id.");
      await sendMessage(bob.page, "Welcome, Carol.");
      await waitForMessage(carol.page, bob.username, "Welcome, Carol.");
      await waitForMessage(alice.page, bob.username, "Welcome, Carol.");
      const members = carol.page.getByRole("list", { name: "Members" });
      for (const p of [alice, bob, carol]) await members.locator(`li[data-user="${p.username}"]`).waitFor();
    }));

  it("opens a direct conversation by clicking a user in People, with an unread count on the other side", (t) =>
    s.check(t, async () => {
      // Bob still looks at the last room, so Carol's first direct message counts as unread.
      // Carol clicks: she signed in after Bob registered, so the People list she loaded names him.
      await openDirect(carol.page, bob.username);
      await sendMessage(carol.page, "Bob, a word in private?");

      await waitForText(unreadBadge(bob.page, carol.username), /\b1 unread\b/);
      await openConversation(bob.page, carol.username);
      await waitForMessage(bob.page, carol.username, "Bob, a word in private?");
      await until(
        async () => (await unreadBadge(bob.page, carol.username).count()) === 0,
        "the badge to clear",
      );
      await sendMessage(bob.page, "Sure, go ahead.");
      await waitForMessage(carol.page, bob.username, "Sure, go ahead.");
    }));

  it("shows who is typing, and stops showing it when the message arrives", (t) =>
    s.check(t, async () => {
      await openConversation(carol.page, bob.username);
      await openConversation(bob.page, carol.username);
      await composer(bob.page).pressSequentially("I am typing slowly", { delay: 20 });
      const typing = carol.page.getByTestId("typing");
      await waitForText(typing, `${bob.username} is typing…`);
      await composer(bob.page).press("Enter");
      await waitForMessage(carol.page, bob.username, "I am typing slowly");
      await until(
        async () => (await typing.count()) === 0 || !(await typing.textContent())?.includes(bob.username),
        "the typing indicator to go",
      );
    }));

  it("composes: Shift+Enter for a new line, a character counter, an emoji picker that fetches only its font", (t) =>
    s.check(t, async () => {
      await openConversation(carol.page, bob.username);
      await openConversation(bob.page, carol.username);
      const box = composer(carol.page);
      const counter = carol.page.getByTestId("char-count");
      await box.fill("");
      await box.pressSequentially("line one");
      await box.press("Shift+Enter");
      await box.pressSequentially("line two");
      assert.equal(await box.inputValue(), "line one\nline two");
      await waitForText(counter, /^17 \/ \d+$/);
      assert.equal(await messages(carol.page, carol.username, "line two").count(), 0, "Shift+Enter sent it");

      const requestsBefore = carol.guard.requests.length;
      await carol.page.getByRole("button", { name: "Emoji", exact: true }).click();
      await carol.page
        .getByRole("group", { name: "Emoji", exact: true })
        .getByRole("button", { name: "grinning face", exact: true })
        .click();
      assert.equal(await box.inputValue(), "line one\nline two😀");
      await waitForText(counter, /^18 \/ \d+$/);
      // The picker itself fetches nothing; the emoji it shows bring in parts of Parley's own emoji
      // font (issue 20), from this server and nowhere else.
      const made = carol.guard.requests.slice(requestsBefore);
      assert.deepEqual(
        made.filter((r) => !/\/assets\/noto-color-emoji-[^/]*\.woff2$/.test(new URL(r.url).pathname)),
        [],
        "the emoji picker made a request other than for the emoji font",
      );
      for (const r of made) assert.equal(new URL(r.url).origin, new URL(s.url).origin, r.url);

      await box.press("Enter");
      const got = await waitForMessage(bob.page, carol.username, "line two😀");
      // The rendered text, where the line break shows (as <br> or a new paragraph).
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText, not the DOM's
      const shown = await got.getByTestId("body").innerText();
      assert.match(shown, /line one\s*\n\s*line two😀/);
      await waitForText(counter, /^0 \/ \d+$/);
    }));

  it("refuses to send a message over the length limit, and says so in the counter", (t) =>
    s.check(t, async () => {
      await openConversation(carol.page, bob.username);
      const counter = carol.page.getByTestId("char-count");
      const limit = Number((await waitForText(counter, /^\d+ \/ \d+$/)).split(" / ")[1]);
      assert.ok(limit > 0);
      const box = composer(carol.page);
      await box.fill("a".repeat(limit + 1));
      await waitForText(counter, `${limit + 1} / ${limit}`);
      assert.ok(await carol.page.getByRole("button", { name: "Send", exact: true }).isDisabled());
      const before = await messages(carol.page, carol.username).count();
      await box.press("Enter");
      await box.fill("a".repeat(limit));
      await waitForText(counter, `${limit} / ${limit}`);
      assert.ok(await carol.page.getByRole("button", { name: "Send", exact: true }).isEnabled());
      assert.equal(
        await messages(carol.page, carol.username).count(),
        before,
        "the over-long message was sent",
      );
      await box.fill("");
    }));

  it("leaves a room: it goes from the sidebar and from the others' member list", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Short");
      const roomId = await createRoom(alice.page, room, { isPublic: true });
      await joinRoom(carol.page, roomId);
      const aliceSees = alice.page
        .getByRole("list", { name: "Members" })
        .locator(`li[data-user="${carol.username}"]`);
      await aliceSees.waitFor();
      await carol.page.getByRole("button", { name: "Leave", exact: true }).click();
      await carol.page
        .getByRole("dialog", { name: "Leave room" })
        .getByRole("button", { name: "Leave room" })
        .click();
      await conversationButton(carol.page, room).waitFor({ state: "detached" });
      await aliceSees.waitFor({ state: "detached" });
    }));

  it("sends a message typed while the connection was down once it is back", (t) =>
    s.check(t, async () => {
      // Dave reaches the server through a relay this test can cut: his device loses the network
      // while the server and Alice stay up (see E2eSuite.relay for why not setOffline).
      const relay = await s.relay();
      const dave = await newPerson(s, "dave", { via: relay });
      await openDirect(dave.page, alice.username);
      await sendMessage(dave.page, "Dave online.");
      await openConversation(alice.page, dave.username);
      await waitForMessage(alice.page, dave.username, "Dave online.");

      relay.cut();
      const status = dave.page.getByTestId("connection");
      await waitForText(status, /^Reconnecting in \d+ s$/);
      await sendMessage(dave.page, "Typed while the network was gone.");
      const mine = messages(dave.page, dave.username, "while the network was gone").last();
      await until(
        async () => ["sending", "failed"].includes((await mine.getAttribute("data-status")) ?? ""),
        "the message to wait (sending) or fail",
      );
      relay.restore();
      await waitForText(status, "Connected");
      const outcome = await until(async () => {
        const st = await mine.getAttribute("data-status");
        return st === "sent" || st === "delivered" || st === "read" || st === "failed" ? st : false;
      }, "the message to be sent or marked failed");
      if (outcome === "failed") {
        t.diagnostic("the message was marked failed; retrying it");
        await mine.getByRole("button", { name: "Retry" }).click();
        await until(
          async () => ["sent", "delivered", "read"].includes((await mine.getAttribute("data-status")) ?? ""),
          "the retried message to be sent",
        );
      }
      await waitForMessage(alice.page, dave.username, "Typed while the network was gone.");
      assert.equal(await messages(alice.page, dave.username, "while the network was gone").count(), 1);
    }));

  it("shows a person going offline when their browser closes", (t) =>
    s.check(t, async () => {
      const erin = await newPerson(s, "erin");
      const frank = await newPerson(s, "frank");
      const entry = peopleEntry(frank.page, erin.username);
      await waitForAttribute(entry, "data-presence", "online");
      await erin.close();
      await waitForAttribute(entry, "data-presence", "offline");
    }));

  it("reconnects every page after the server restarts, and the conversation goes on", (t) =>
    s.check(t, async () => {
      await openConversation(carol.page, bob.username);
      await openConversation(bob.page, carol.username);
      const t0 = Date.now();
      const mark = (what: string) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
      await s.stopServer();
      for (const p of [carol, bob]) {
        await waitForText(p.page.getByTestId("connection"), /^(Reconnecting|Offline|Connecting)/);
      }
      mark("server stopped, every page noticed");
      await s.restartServer();
      mark("server restarted");
      for (const p of [carol, bob]) {
        await waitForText(p.page.getByTestId("connection"), "Connected", WAIT_MS * 2);
      }
      mark("every page connected");
      await sendMessage(bob.page, "Back after the restart.");
      await waitForMessage(carol.page, bob.username, "Back after the restart.");
      await sendMessage(carol.page, "Welcome back.");
      await waitForMessage(bob.page, carol.username, "Welcome back.");
      mark("both ways delivered");
    }));
});
