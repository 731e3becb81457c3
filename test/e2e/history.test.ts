import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  closeDialog,
  messages,
  openConversation,
  openDirect,
  openSettings,
  sendMessage,
  waitForMessage,
  waitForSignedIn,
} from "./support/ui.js";

// Issue 4: "Client-side history lives in memory by default; an opt-in 'keep history on this
// device' stores it encrypted in IndexedDB." A browser context's storage is the device: a
// reload keeps it. The reload follows the last message at once, as a person closing the tab
// right after reading it would.

describe("history on this device", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
    await openDirect(bob.page, alice.username);
    await sendMessage(bob.page, "Said before any reload.");
    await openConversation(alice.page, bob.username);
    await waitForMessage(alice.page, bob.username, "Said before any reload.");
  });
  after(async () => {
    await s?.close();
  });

  /** Alice reloads her page, is signed in again from this device, and opens the DM. */
  async function reloadAlice(): Promise<void> {
    await alice.page.reload();
    await waitForSignedIn(alice.page, alice.username);
    await openConversation(alice.page, bob.username);
  }

  it("forgets messages on a reload by default, and keeps them once 'Keep history on this device' is on", (t) =>
    s.check(t, async () => {
      await reloadAlice();
      // A sync point: a new message arrives, so the page has settled before counting old ones.
      await sendMessage(bob.page, "After the first reload.");
      await waitForMessage(alice.page, bob.username, "After the first reload.");
      assert.equal(await messages(alice.page, bob.username, "Said before any reload.").count(), 0);

      const settings = await openSettings(alice.page);
      await settings.getByRole("checkbox", { name: "Keep history on this device" }).check();
      await closeDialog(settings);
      await sendMessage(bob.page, "Worth keeping.");
      await waitForMessage(alice.page, bob.username, "Worth keeping.");

      await reloadAlice();
      await waitForMessage(alice.page, bob.username, "Worth keeping.");
      await waitForMessage(alice.page, bob.username, "After the first reload.");
      const again = await openSettings(alice.page);
      assert.ok(await again.getByRole("checkbox", { name: "Keep history on this device" }).isChecked());
      await closeDialog(again);
    }));
});
