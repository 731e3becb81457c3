import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Locator } from "playwright-core";
import { uniqueName } from "../integration/support/harness.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite, PHONE } from "./support/suite.js";
import {
  acceptInvitation,
  composer,
  createRoom,
  invite,
  messageLog,
  messages,
  openConversation,
  sendMessage,
  waitForMessage,
  waitForSignedIn,
} from "./support/ui.js";
import { until, waitForAttribute, waitForText } from "./support/wait.js";

// Issue 20 (CHAT-1..6) between two browsers: alice on a 1440x900 desktop, bob on a 360x740
// phone. Replies quote and jump, reactions group and toggle, edits show "edited", a delete
// leaves "message deleted" on both sides (and after a reload), @mentions complete and are
// marked, and search finds what this device holds and opens it in its conversation.

/** The message's action buttons, by the accessible name each has. */
function action(message: Locator, name: "Reply" | "React" | "Edit" | "Delete" | "Copy" | "Info"): Locator {
  return message.getByRole("toolbar", { name: "Message actions" }).getByRole("button", { name, exact: true });
}

/** Whether the message's actions are shown (on hover, focus or a long press). */
function actionsShown(message: Locator): Promise<boolean> {
  return message.getByRole("toolbar", { name: "Message actions" }).isVisible();
}

/** The reaction buttons of a message, by their names ("👍 2: alice, bob"). */
function reaction(message: Locator, emoji: string): Locator {
  return message
    .getByRole("group", { name: "Reactions" })
    .getByRole("button", { name: new RegExp(`^${emoji} \\d+: `) });
}

describe("replies, reactions, edits, deletes, mentions and search", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  let room: string;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob", { viewport: PHONE });
    room = uniqueName("Lunch");
    await createRoom(alice.page, room);
    await invite(alice.page, bob.username);
    await acceptInvitation(bob.page, room);
    await alice.page
      .getByRole("list", { name: "Members" })
      .locator(`li[data-user="${bob.username}"]`)
      .waitFor();
  });
  after(async () => {
    await s?.close();
  });

  it("replies with a quote and an @mention picked from suggestions; the quote opens the message", (t) =>
    s.check(t, async () => {
      await sendMessage(bob.page, "Lunch at noon?");
      const lunch = await waitForMessage(alice.page, bob.username, "Lunch at noon?");
      // Actions show on hover, each with its name.
      assert.equal(await actionsShown(lunch), false, "hidden until hovered");
      await lunch.hover();
      await until(() => actionsShown(lunch), "the actions on hover");
      for (const name of ["Reply", "React", "Copy", "Info"] as const) await action(lunch, name).waitFor();
      assert.equal(await action(lunch, "Edit").count(), 0, "no Edit on someone else's message");
      assert.equal(await action(lunch, "Delete").count(), 0, "no Delete on someone else's message");
      await action(lunch, "Reply").click();
      await waitForText(
        alice.page.getByTestId("composing"),
        new RegExp(`^Replying to ${bob.username}: Lunch at noon\\? ?Cancel reply$`),
      );

      // CHAT-5: "@" and the start of a name offers the members whose names fit.
      const box = composer(alice.page);
      await box.pressSequentially(`Yes, with @${bob.username.slice(0, 3)}`);
      const suggestions = alice.page.getByRole("listbox", { name: "Mention suggestions" });
      const option = suggestions.getByRole("option", { name: `@${bob.username}` });
      await waitForAttribute(option, "aria-selected", "true");
      await box.press("Enter");
      await suggestions.waitFor({ state: "hidden" });
      assert.equal(await box.inputValue(), `Yes, with @${bob.username} `);
      await box.pressSequentially("and soup");
      await box.press("Enter");
      await waitForMessage(alice.page, alice.username, "and soup");
      assert.equal(await alice.page.getByTestId("composing").count(), 0, "the reply mode ends on send");

      // Bob sees the quote, and his name marked as mentioned.
      const reply = await waitForMessage(bob.page, alice.username, "and soup");
      const quote = reply.getByTestId("quote");
      await waitForText(quote, `${bob.username} Lunch at noon?`);
      const mention = reply.getByTestId("mention");
      assert.equal(await mention.textContent(), `@${bob.username}`);
      assert.match((await mention.getAttribute("class")) ?? "", /mention-me/);
      assert.match((await reply.getAttribute("class")) ?? "", /mentions-me/);
      // The quote opens the message replied to: focused and marked.
      await quote.click();
      const original = messages(bob.page, bob.username, "Lunch at noon?").last();
      await until(
        async () => (await original.evaluate((el) => el === el.ownerDocument.activeElement)) === true,
        "the quoted message focused",
      );
      assert.match((await original.getAttribute("class")) ?? "", /flash/);
      await s.screenshot(alice, "reply-desktop");
      await s.screenshot(bob, "reply-phone");
    }));

  it("reacts with a long press and a picker, groups with counts and who, and toggles off", (t) =>
    s.check(t, async () => {
      const reply = messages(bob.page, alice.username, "and soup").last();
      // A long press (touch) opens the actions on the phone.
      await reply.dispatchEvent("pointerdown", { pointerType: "touch", isPrimary: true });
      await until(async () => /actions-open/.test((await reply.getAttribute("class")) ?? ""), "long press");
      await reply.dispatchEvent("pointerup", { pointerType: "touch", isPrimary: true });
      assert.ok(await actionsShown(reply), "the actions after a long press");
      await action(reply, "React").click();
      const picker = bob.page.getByRole("dialog", { name: "React" });
      await picker.getByRole("button", { name: "thumbs up", exact: true }).click();
      await picker.waitFor({ state: "hidden" });

      const onAlice = messages(alice.page, alice.username, "and soup").last();
      const thumbs = reaction(onAlice, "👍");
      await waitForAttribute(thumbs, "aria-label", `👍 1: ${bob.username}`);
      assert.equal(await thumbs.getAttribute("aria-pressed"), "false");
      // Alice adds hers by the chip: two, pressed for her; then any other emoji from the picker.
      await thumbs.click();
      await waitForAttribute(thumbs, "aria-label", `👍 2: ${bob.username}, ${alice.username}`);
      assert.equal(await thumbs.getAttribute("aria-pressed"), "true");
      await onAlice.hover();
      await action(onAlice, "React").click();
      const alicePicker = alice.page.getByRole("dialog", { name: "React" });
      await alicePicker.getByRole("button", { name: "More emoji" }).click();
      await alicePicker.getByRole("button", { name: "rocket", exact: true }).click();
      const onBob = messages(bob.page, alice.username, "and soup").last();
      await waitForAttribute(reaction(onBob, "👍"), "aria-label", `👍 2: ${bob.username}, ${alice.username}`);
      await waitForAttribute(reaction(onBob, "🚀"), "aria-label", `🚀 1: ${alice.username}`);
      // Reacting again takes it back, on both sides.
      await reaction(onBob, "👍").click();
      await waitForAttribute(reaction(onAlice, "👍"), "aria-label", `👍 1: ${alice.username}`);
      await waitForAttribute(reaction(onBob, "👍"), "aria-pressed", "false");
      await s.screenshot(bob, "reactions-phone");
    }));

  it("edits from the keyboard and shows edited on both sides, after a reload too", (t) =>
    s.check(t, async () => {
      const mine = messages(alice.page, alice.username, "and soup").last();
      // Keyboard: the message is a tab stop, its actions show while it has focus, Tab reaches
      // them and Enter runs one.
      await mine.focus();
      await until(() => actionsShown(mine), "the actions on keyboard focus");
      const edit = action(mine, "Edit");
      for (let i = 0; i < 10 && !(await edit.evaluate((el) => el === el.ownerDocument.activeElement)); i++)
        await alice.page.keyboard.press("Tab");
      await alice.page.keyboard.press("Enter");
      await waitForText(alice.page.getByTestId("composing"), /^Editing your message ?Cancel edit$/);
      const box = composer(alice.page);
      assert.equal(await box.inputValue(), `Yes, with @${bob.username} and soup`);
      // The box holds the text, focused, with the caret at its end, as the mode is shown.
      assert.deepEqual(
        await box.evaluate((el) => {
          const area = el as unknown as { selectionStart: number | null; value: string };
          return {
            focused: el === el.ownerDocument.activeElement,
            caretAtEnd: area.selectionStart === area.value.length,
          };
        }),
        { focused: true, caretAtEnd: true },
      );
      await box.fill(`Yes, with @${bob.username} and salad at 12:30`);
      await box.press("Enter");
      await waitForMessage(alice.page, alice.username, "salad at 12:30");
      const onBob = await waitForMessage(bob.page, alice.username, "salad at 12:30");
      await onBob.getByTestId("edited").waitFor();
      assert.equal(await messages(bob.page, alice.username, "and soup").count(), 0, "only the latest text");
      // The quote and the reactions stay with the edited message.
      await waitForText(onBob.getByTestId("quote"), `${bob.username} Lunch at noon?`);
      await reaction(onBob, "🚀").waitFor();

      await bob.page.reload();
      await waitForSignedIn(bob.page, bob.username);
      await openConversation(bob.page, room);
      const kept = await waitForMessage(bob.page, alice.username, "salad at 12:30");
      await kept.getByTestId("edited").waitFor();
      await waitForAttribute(reaction(kept, "👍"), "aria-label", `👍 1: ${alice.username}`);
    }));

  it("deletes for everyone: message deleted on both sides, the text gone from the page", (t) =>
    s.check(t, async () => {
      await sendMessage(alice.page, "oops, wrong room");
      await waitForMessage(bob.page, alice.username, "oops, wrong room");
      const mine = messages(alice.page, alice.username, "oops, wrong room").last();
      await mine.hover();
      await action(mine, "Delete").click();
      const dialog = alice.page.getByRole("dialog", { name: "Delete message" });
      await dialog.getByRole("button", { name: "Delete for everyone" }).click();
      await dialog.waitFor({ state: "hidden" });
      for (const page of [alice.page, bob.page]) {
        await until(
          async () => (await messageLog(page).locator('[data-deleted="true"]').count()) === 1,
          "the deleted message",
        );
        await waitForText(
          messageLog(page).locator('[data-deleted="true"]').getByTestId("deleted"),
          "message deleted",
        );
        assert.equal(await page.getByText("oops, wrong room").count(), 0, "the text is gone");
      }
      await bob.page.reload();
      await waitForSignedIn(bob.page, bob.username);
      await openConversation(bob.page, room);
      await messageLog(bob.page).locator('[data-deleted="true"]').waitFor();
      assert.equal(await bob.page.getByText("oops, wrong room").count(), 0, "not back after a reload");
    }));

  it("searches this device's history and opens a hit in its conversation", (t) =>
    s.check(t, async () => {
      // On the phone, the conversation list (with Search) is one step back.
      await bob.page.getByRole("button", { name: "Back to conversations" }).click();
      await bob.page.getByRole("button", { name: "Search", exact: true }).click();
      const dialog = bob.page.getByRole("dialog", { name: "Search messages" });
      const input = dialog.getByRole("searchbox", { name: "Words to find" });
      await input.fill("oops");
      await waitForText(dialog.getByTestId("search-count"), "Nothing found.");
      await input.fill("SALAD 12:30");
      await waitForText(dialog.getByTestId("search-count"), "1 found.");
      const hit = dialog.getByTestId("search-hit");
      await waitForText(hit, new RegExp(`^#${room} · ${alice.username} · [^·]+Yes, with @`));
      assert.deepEqual(await hit.locator("mark").allTextContents(), ["salad", "12:30"]);
      await s.screenshot(bob, "search-phone");
      await hit.click();
      await dialog.waitFor({ state: "hidden" });
      const found = messages(bob.page, alice.username, "salad at 12:30").last();
      await until(
        async () => (await found.evaluate((el) => el === el.ownerDocument.activeElement)) === true,
        "the hit focused in its conversation",
      );
      await s.screenshot(bob, "search-opened-phone");
      await s.screenshot(alice, "conversation-desktop");
    }));
});
