import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { login, request } from "../integration/support/harness.js";
import { compareAndConfirm, newUnlinkedDevice, openLinkNewDevice, showLinkCode } from "./support/linking.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  acceptInvitation,
  conversationButton,
  createRoom,
  escapeRegExp,
  invite,
  messageLog,
  openSettings,
  signInForm,
} from "./support/ui.js";
import { WAIT_MS, waitForCount } from "./support/wait.js";

// Issue 18 parts 3, 4 and 6 in the browser: the session list and ending a session from
// another browser, bans in room settings, blocking an invitation and lifting the block, and
// deleting the account (the other member sees the line; the deleted account's tokens fail).

function systemLine(page: Person["page"], text: string) {
  return messageLog(page)
    .getByTestId("system-line")
    .filter({ hasText: new RegExp(`${escapeRegExp(text)}$`) });
}

async function roomSettings(page: Person["page"]) {
  await page.getByRole("button", { name: "Room settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Room settings" });
  await dialog.waitFor();
  return dialog;
}

describe("account self-service, blocks and bans, in the browser", () => {
  let s: E2eSuite;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
  });
  after(async () => {
    await s?.close();
  });

  it("lists the sessions and ends one from another browser: that one is signed out", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice");
      const laptop = await newUnlinkedDevice(s, alice, "alice-laptop");
      const code = await showLinkCode(laptop.page);
      const linking = await openLinkNewDevice(alice.page);
      await linking.getByRole("textbox", { name: "Code shown on the new device" }).fill(code);
      await linking.getByRole("button", { name: "Link" }).click();
      await compareAndConfirm(linking, laptop.page, alice.username);
      await alice.page
        .getByRole("dialog", { name: "Settings" })
        .getByRole("button", { name: "Done" })
        .click();

      // On the laptop: both sessions, this one marked; ending the other signs that browser out.
      const settings = await openSettings(laptop.page);
      const list = settings.getByRole("list", { name: "Your sessions" });
      await waitForCount(list.getByRole("listitem"), 2);
      await list.locator('li[data-current="yes"]').getByText("(this session)").waitFor();
      await list.getByText("127.0.0.1").first().waitFor();
      await list.getByText("Chrome on Linux").first().waitFor();
      await list
        .locator('li[data-current="no"]')
        .getByRole("button", { name: /^End session/ })
        .click();
      await waitForCount(list.getByRole("listitem"), 1);
      await signInForm(alice.page).waitFor({ timeout: WAIT_MS });
      await alice.page
        .getByTestId("signin-notice")
        .getByText(/ended from another of your sessions/)
        .waitFor();
    }));

  it("bans a member from room settings: removed, refused, listed, and unbanned", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice");
      const bob = await newPerson(s, "bob");
      const room = `Ops ${Date.now() % 100000}`;
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      await acceptInvitation(bob.page, room);
      await systemLine(alice.page, `${bob.username} joined`).waitFor();
      const settings = await roomSettings(alice.page);
      await settings.getByRole("button", { name: `Ban ${bob.username}` }).click();
      await systemLine(alice.page, `${bob.username} was banned by ${alice.username}`).waitFor();
      await conversationButton(bob.page, room).waitFor({ state: "detached", timeout: WAIT_MS });
      const banned = settings.getByRole("list", { name: "Banned users" });
      await banned.getByText(`${bob.username} (banned by ${alice.username})`).waitFor();
      await settings.getByRole("button", { name: `Unban ${bob.username}` }).click();
      await systemLine(alice.page, `${alice.username} lifted ${bob.username}'s ban`).waitFor();
      await settings.getByText("Nobody is banned from this room.").waitFor();
    }));

  it("blocks an inviter from the invitation, lists the block, and lifts it", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice");
      const bob = await newPerson(s, "bob");
      const room = `Spam ${Date.now() % 100000}`;
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      const invitations = bob.page.getByRole("list", { name: "Invitations" });
      await invitations.getByRole("button", { name: `Block ${alice.username}` }).click();
      await invitations.waitFor({ state: "detached", timeout: WAIT_MS });
      // Alice's next invitation is refused, and bob sees nothing of it.
      await alice.page.getByRole("button", { name: "Invite", exact: true }).click();
      const dialog = alice.page.getByRole("dialog", { name: "Invite" });
      await dialog.getByRole("textbox", { name: "Username" }).fill(bob.username);
      await dialog.getByRole("button", { name: "Send invite" }).click();
      await dialog
        .getByRole("alert")
        .getByText(/cannot be invited/)
        .waitFor();
      assert.equal(await bob.page.getByRole("list", { name: "Invitations" }).count(), 0);
      const settings = await openSettings(bob.page);
      const blocked = settings.getByRole("list", { name: "Blocked" });
      await blocked.locator(`li[data-user="${alice.username}"]`).waitFor();
      await blocked.getByRole("button", { name: `Unblock ${alice.username}` }).click();
      await settings.getByText("You have blocked nobody.").waitFor();
    }));

  it("deletes the account with the password: signed out with a message; the other member sees the line; its tokens fail", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice");
      const bob = await newPerson(s, "bob");
      const room = `Team ${Date.now() % 100000}`;
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      await acceptInvitation(bob.page, room);
      await systemLine(alice.page, `${bob.username} joined`).waitFor();
      const other = await login(s.server, bob.username, bob.password);
      assert.equal(other.status, 200);

      const settings = await openSettings(bob.page);
      const section = settings.getByRole("region", { name: "Delete account" });
      await section.getByRole("button", { name: "Delete my account…" }).click();
      const form = settings.getByRole("form", { name: "Delete account" });
      await form.getByLabel("Password").fill("Not-The-Password-1!");
      await form.getByRole("button", { name: "Delete my account for good" }).click();
      await form.getByRole("alert").waitFor();
      await form.getByLabel("Password").fill(bob.password);
      await form.getByRole("button", { name: "Delete my account for good" }).click();
      await signInForm(bob.page).waitFor({ timeout: WAIT_MS });
      await bob.page
        .getByTestId("signin-notice")
        .getByText(`Your account ${bob.username} was deleted`)
        .waitFor();

      await systemLine(alice.page, `${bob.username} deleted their account`).waitFor();
      assert.equal(
        (await request(s.server, "GET", "/api/me", { token: other.body.accessToken })).status,
        401,
      );
      assert.equal((await login(s.server, bob.username, bob.password)).status, 401);
    }));
});
