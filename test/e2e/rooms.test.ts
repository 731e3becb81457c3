import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SessionResponse } from "@parley/protocol";
import { login, request, uniqueName } from "../integration/support/harness.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  acceptInvitation,
  conversationButton,
  conversationHeading,
  createRoom,
  escapeRegExp,
  invite,
  messageLog,
  openConversation,
  openSettings,
} from "./support/ui.js";
import { WAIT_MS, waitForText } from "./support/wait.js";

// Issue 18: rooms a team manages itself, in the browser. Private by default, a directory of
// public rooms joined by name, a member cap and a passphrase, room settings, and a line in the
// conversation for every membership change; and a password change that ends other sessions.

/** A system line of the open conversation with exactly this text. */
function systemLine(page: Person["page"], text: string) {
  return messageLog(page)
    .getByTestId("system-line")
    .filter({ hasText: new RegExp(`${escapeRegExp(text)}$`) });
}

function joinDialog(page: Person["page"]) {
  return page.getByRole("dialog", { name: "Join room" });
}

async function openJoin(page: Person["page"]) {
  await page.getByRole("button", { name: "Join room" }).click();
  const dialog = joinDialog(page);
  await dialog.waitFor();
  return dialog;
}

async function roomSettings(page: Person["page"]) {
  await page.getByRole("button", { name: "Room settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Room settings" });
  await dialog.waitFor();
  return dialog;
}

describe("rooms a team manages itself, in the browser", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, {
      authRatePerMin: 10_000,
      bruteForceMaxFailures: 3,
      bruteForceWindowS: 300,
      bruteForceBlockS: 300,
    });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
    carol = await newPerson(s, "carol");
  });
  after(async () => {
    await s?.close();
  });

  it("creates private rooms by default: the id alone does not let anyone in", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Secret");
      const roomId = await createRoom(alice.page, room);
      await alice.page.locator(".room-id").filter({ hasText: "private" }).waitFor();
      const dialog = await openJoin(carol.page);
      await dialog.getByRole("textbox", { name: "Room id or name" }).fill(roomId);
      await dialog.getByRole("button", { name: "Join", exact: true }).click();
      await dialog
        .getByRole("alert")
        .filter({ hasText: "That room is private: you need an invitation." })
        .waitFor();
      assert.equal(await dialog.getByRole("list", { name: "Public rooms" }).getByText(room).count(), 0);
      await dialog.getByRole("button", { name: "Cancel" }).click();
      assert.equal(await conversationButton(carol.page, room).count(), 0);
    }));

  it("shows every membership change as a line in both members' conversation, and removes for good", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Ops");
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      await systemLine(alice.page, `${alice.username} invited ${bob.username}`).waitFor();
      await acceptInvitation(bob.page, room);
      await systemLine(alice.page, `${bob.username} joined`).waitFor();
      await systemLine(bob.page, `${bob.username} joined`).waitFor();

      const renamed = uniqueName("Incident");
      const settings = await roomSettings(alice.page);
      await settings.getByRole("textbox", { name: "Name" }).fill(renamed);
      await settings.getByRole("textbox", { name: "Topic" }).fill("database down");
      await settings.getByRole("button", { name: "Save" }).click();
      await settings.waitFor({ state: "hidden" });
      await systemLine(bob.page, `${alice.username} renamed the room to ${renamed}`).waitFor();
      await systemLine(bob.page, `${alice.username} set the topic to "database down"`).waitFor();
      await conversationHeading(bob.page, renamed).waitFor();

      const again = await roomSettings(alice.page);
      await again.getByRole("button", { name: `Make ${bob.username} a moderator` }).click();
      await systemLine(bob.page, `${alice.username} made ${bob.username} a moderator`).waitFor();
      await again.getByRole("button", { name: `Remove ${bob.username}` }).click();
      await systemLine(alice.page, `${bob.username} was removed by ${alice.username}`).waitFor();
      await conversationButton(bob.page, renamed).waitFor({ state: "detached", timeout: WAIT_MS });
      await again.getByRole("button", { name: "Close" }).click();

      // The lines are kept: after a reload they are still there.
      await alice.page.reload();
      await openConversation(alice.page, renamed);
      await systemLine(alice.page, `${alice.username} invited ${bob.username}`).waitFor();
      await systemLine(alice.page, `${bob.username} was removed by ${alice.username}`).waitFor();
    }));

  it("finds a public room in the directory and joins it by name; the member cap refuses the next one", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Lobby");
      await createRoom(alice.page, room, { isPublic: true, maxMembers: 2 });
      const dialog = await openJoin(bob.page);
      await dialog.getByRole("searchbox", { name: "Search public rooms" }).fill(room);
      const entry = dialog.locator(`li[data-room="${room}"]`);
      await entry.getByText("1 of 2 members").waitFor();
      await dialog.getByRole("textbox", { name: "Room id or name" }).fill(room.toLowerCase());
      await dialog.getByRole("button", { name: "Join", exact: true }).click();
      await dialog.waitFor({ state: "hidden" });
      await conversationHeading(bob.page, room).waitFor();
      await systemLine(alice.page, `${bob.username} joined`).waitFor();

      const full = await openJoin(carol.page);
      await full.getByRole("textbox", { name: "Room id or name" }).fill(room);
      await full.getByRole("button", { name: "Join", exact: true }).click();
      await full.getByRole("alert").filter({ hasText: "That room is full" }).waitFor();
      await full.getByRole("button", { name: "Cancel" }).click();
    }));

  it("asks for a public room's passphrase, refuses a wrong one and throttles guessing", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Club");
      await createRoom(alice.page, room, { isPublic: true, passphrase: "tea at five" });
      const dialog = await openJoin(carol.page);
      await dialog.getByRole("searchbox", { name: "Search public rooms" }).fill(room);
      await dialog.getByRole("button", { name: `Join ${room}` }).click();
      const field = dialog.getByLabel("Passphrase");
      await field.waitFor();
      for (let i = 0; i < 3; i++) {
        await field.fill(`coffee ${i}`);
        await dialog.getByRole("button", { name: "Join", exact: true }).click();
        await dialog.getByRole("alert").filter({ hasText: "That is not the room's passphrase." }).waitFor();
      }
      await field.fill("tea at five");
      await dialog.getByRole("button", { name: "Join", exact: true }).click();
      await dialog.getByRole("alert").filter({ hasText: "Too many wrong passphrases." }).waitFor();
      await dialog.getByRole("button", { name: "Cancel" }).click();

      // Bob, who guessed nothing, gets in with it.
      const bobs = await openJoin(bob.page);
      await bobs.getByRole("textbox", { name: "Room id or name" }).fill(room);
      await bobs.getByRole("button", { name: "Join", exact: true }).click();
      await bobs.getByLabel("Passphrase").fill("tea at five");
      await bobs.getByRole("button", { name: "Join", exact: true }).click();
      await conversationHeading(bob.page, room).waitFor();
    }));

  it("changes the password: the other session ends, this one goes on", (t) =>
    s.check(t, async () => {
      const other = await login(s.server, carol.username, carol.password);
      assert.equal(other.status, 200);
      const settings = await openSettings(carol.page);
      const next = "Harbour-Quiet-Lamp-8";
      const form = settings.getByRole("form", { name: "Change password" });
      await form.getByLabel("Current password").fill(carol.password);
      await form.getByLabel("New password", { exact: true }).fill(next);
      await form.getByLabel("New password again").fill(next);
      await form.getByRole("button", { name: "Change password" }).click();
      await form.getByRole("status").filter({ hasText: "Your other sessions have ended." }).waitFor();
      const refreshed = await request<SessionResponse>(s.server, "POST", "/api/token/refresh", {
        body: { refreshToken: other.body.refreshToken },
      });
      assert.equal(refreshed.status, 401, "the other session is over");
      assert.equal((await login(s.server, carol.username, carol.password)).status, 401);
      assert.equal((await login(s.server, carol.username, next)).status, 200);
      await settings.getByRole("button", { name: "Close" }).click();
      // This page is still signed in and connected.
      await waitForText(carol.page.getByTestId("connection"), "Connected");
    }));
});
