import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { linkScreen, resetIdentityHere } from "./support/linking.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  closeDialog,
  composer,
  openConversation,
  openDirect,
  readSafetyNumber,
  SAFETY_NUMBER,
  safetyDialog,
  sendMessage,
  signIn,
  signOut,
  submitSignIn,
  waitForMessage,
} from "./support/ui.js";
import { waitForText } from "./support/wait.js";

// Issue 4: "Logout wipes the session's state from the device on request." A browser context's
// storage is the device: signing out and in again keeps its keys, erasing replaces them.

describe("this device's keys", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
    await openDirect(bob.page, alice.username);
    await sendMessage(bob.page, "Hello from my first sign-in.");
    await openConversation(alice.page, bob.username);
    await waitForMessage(alice.page, bob.username, "Hello from my first sign-in.");
  });
  after(async () => {
    await s?.close();
  });

  /** The safety number Alice sees for Bob: it changes exactly when Bob's device keys do. */
  async function safetyNumberForAlice(): Promise<string> {
    const digits = await readSafetyNumber(alice.page, bob.username);
    await closeDialog(safetyDialog(alice.page, bob.username));
    return digits;
  }

  it("keeps the device across sign-out and sign-in: contacts see no key change", (t) =>
    s.check(t, async () => {
      const before = await safetyNumberForAlice();
      await signOut(bob.page);
      await signIn(bob.page, bob.username, bob.password);
      await openConversation(bob.page, alice.username);
      await sendMessage(bob.page, "Same browser, same keys.");
      await waitForMessage(alice.page, bob.username, "Same browser, same keys.");
      const banner = alice.page
        .getByRole("alert")
        .filter({ hasText: `${bob.username}'s security key changed` });
      assert.equal(await banner.count(), 0, "a key-change banner for an unchanged device");
      assert.equal(
        await alice.page.getByRole("button", { name: "Encryption: key changed", exact: true }).count(),
        0,
      );
      assert.equal(await safetyNumberForAlice(), before, "Bob's keys changed");
    }));

  it("erases this device's keys on request: the next sign-in must link or reset, and a reset is news to contacts", (t) =>
    s.check(t, async () => {
      const before = await safetyNumberForAlice();
      await signOut(bob.page, { erase: true });
      // The identity key went with the erased keys: nothing is made silently on the next sign-in.
      await submitSignIn(bob.page, bob.username, bob.password);
      await linkScreen(bob.page).waitFor();
      await resetIdentityHere(bob.page, bob.username, bob.password);
      await openConversation(bob.page, alice.username);
      await sendMessage(bob.page, "Same browser, fresh keys.");
      await waitForMessage(alice.page, bob.username, "Same browser, fresh keys.");
      // Alice had not verified Bob: a notice that does not block her.
      const notice = alice.page
        .getByRole("status")
        .filter({ hasText: `${bob.username}'s security key changed` });
      await notice.waitFor();
      assert.ok(await composer(alice.page).isEnabled(), "the composer is blocked for an unverified contact");
      await notice.getByRole("button", { name: "Review safety number" }).click();
      const dialog = safetyDialog(alice.page, bob.username);
      const after = await waitForText(dialog.getByTestId("safety-number"), SAFETY_NUMBER);
      assert.notEqual(after, before, "the safety number still covers only the erased keys");
    }));
});
