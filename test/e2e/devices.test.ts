import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FakeCamera, qrModulesOnScreen } from "./support/camera.js";
import {
  compareAndConfirm,
  linkScreen,
  newUnlinkedDevice,
  openLinkNewDevice,
  showLinkCode,
} from "./support/linking.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite, PHONE } from "./support/suite.js";
import {
  closeDialog,
  composer,
  openConversation,
  openDirect,
  readSafetyNumber,
  safetyDialog,
  sendMessage,
  waitForMessage,
  waitForSignedIn,
} from "./support/ui.js";
import { until, waitForCount, waitForText } from "./support/wait.js";

// Issue 14: one identity per person across devices. A second browser of the same person is
// linked from the first (QR code through the camera, or the short code); contacts see a quiet
// "added a device" line, not an alarm. Only a reset identity raises the alarm, and it blocks
// the composer only for people who had verified the person.

/** Alice and Bob in a direct conversation; Alice has verified Bob. */
async function verifiedPair(s: E2eSuite): Promise<[Person, Person]> {
  const alice = await newPerson(s, "alice");
  const bob = await newPerson(s, "bob");
  await openDirect(bob.page, alice.username);
  await sendMessage(bob.page, "Hello from my first browser.");
  await openConversation(alice.page, bob.username);
  await waitForMessage(alice.page, bob.username, "Hello from my first browser.");
  await readSafetyNumber(alice.page, bob.username);
  const dialog = safetyDialog(alice.page, bob.username);
  await dialog.getByRole("button", { name: "Mark as verified" }).click();
  await closeDialog(dialog);
  await alice.page.getByRole("button", { name: "Encryption: verified", exact: true }).waitFor();
  return [alice, bob];
}

describe("linking a device", () => {
  let s: E2eSuite;
  let camera: FakeCamera;
  before(async () => {
    camera = await FakeCamera.create();
    s = await E2eSuite.start(
      import.meta.url,
      { authRatePerMin: 10_000 },
      { chromiumArgs: camera.chromiumArgs },
    );
  });
  after(async () => {
    await s?.close();
    await camera?.close();
  });

  it("links a second browser by its short code; a contact who verified the person sees news, not an alarm", (t) =>
    s.check(t, async () => {
      const [alice, bob] = await verifiedPair(s);
      const bobPhone = await newUnlinkedDevice(s, bob, "bob-phone", { viewport: PHONE });
      const code = await showLinkCode(bobPhone.page);
      await s.screenshot(bobPhone, "link-screen-phone");
      const linking = await openLinkNewDevice(bob.page);
      await linking.getByRole("textbox", { name: "Code shown on the new device" }).fill(code.toLowerCase());
      await linking.getByRole("button", { name: "Link" }).click();
      await compareAndConfirm(linking, bobPhone.page, bob.username);
      await s.screenshot(bobPhone, "linked-phone");

      // Bob's devices, in his Settings: two, the first one marked as this device.
      const mine = bob.page.getByRole("list", { name: "Your devices" });
      await bob.page.getByRole("dialog", { name: "Settings" }).getByRole("button", { name: "Done" }).click();
      await waitForCount(mine.getByRole("listitem"), 2);
      await waitForText(mine.getByRole("listitem").first(), /^Device 1 \(this device\)/);
      await closeDialog(bob.page.getByRole("dialog", { name: "Settings" }));

      // The new browser writes as Bob; Alice reads it with no banner, still verified.
      await openConversation(bobPhone.page, alice.username);
      await sendMessage(bobPhone.page, "Same Bob, new phone.");
      await waitForMessage(alice.page, bob.username, "Same Bob, new phone.");
      await waitForText(
        alice.page.getByTestId("device-line").first(),
        new RegExp(`${bob.username} added a device$`),
      );
      assert.equal(await alice.page.getByRole("alert").count(), 0, "an alarm was raised for a linked device");
      await alice.page.getByRole("button", { name: "Encryption: verified", exact: true }).waitFor();
      assert.ok(await composer(alice.page).isEnabled());

      // Alice sees both of Bob's devices in his details.
      await readSafetyNumber(alice.page, bob.username);
      const dialog = safetyDialog(alice.page, bob.username);
      await dialog.getByText(`${bob.username}'s devices`).click();
      await waitForCount(
        dialog.getByRole("list", { name: `${bob.username}'s devices` }).getByRole("listitem"),
        2,
      );
      await closeDialog(dialog);

      // And Alice's reply reaches both of Bob's browsers.
      await sendMessage(alice.page, "Hi Bob, both of you.");
      await waitForMessage(bob.page, alice.username, "Hi Bob, both of you.");
      await waitForMessage(bobPhone.page, alice.username, "Hi Bob, both of you.");
    }));

  it("links a second browser by scanning its QR code with the first one's camera", (t) =>
    s.check(t, async () => {
      const bob = await newPerson(s, "bob");
      const bobLaptop = await newUnlinkedDevice(s, bob, "bob-laptop");
      await showLinkCode(bobLaptop.page);
      await camera.show(
        await qrModulesOnScreen(linkScreen(bobLaptop.page).getByRole("img", { name: "Link QR code" })),
      );
      const linking = await openLinkNewDevice(bob.page);
      await linking.getByRole("button", { name: "Scan its code" }).click();
      await compareAndConfirm(linking, bobLaptop.page, bob.username);
    }));

  it("removes a linked browser after a confirmation: it is erased and signed out, a contact sees news that stays", (t) =>
    s.check(t, async () => {
      const [alice, bob] = await verifiedPair(s);
      const bobPhone = await newUnlinkedDevice(s, bob, "bob-old-phone", { viewport: PHONE });
      const code = await showLinkCode(bobPhone.page);
      const linking = await openLinkNewDevice(bob.page);
      await linking.getByRole("textbox", { name: "Code shown on the new device" }).fill(code);
      await linking.getByRole("button", { name: "Link" }).click();
      await compareAndConfirm(linking, bobPhone.page, bob.username);
      await waitForText(
        alice.page.getByTestId("device-line").first(),
        new RegExp(`${bob.username} added a device$`),
      );

      // Bob removes the phone from his laptop's Settings, and confirms.
      const settings = bob.page.getByRole("dialog", { name: "Settings" });
      await settings.getByRole("button", { name: "Done" }).click();
      const mine = settings.getByRole("list", { name: "Your devices" });
      await waitForCount(mine.getByRole("listitem"), 2);
      assert.equal(
        await mine.getByRole("listitem").first().getByRole("button", { name: "Remove" }).count(),
        0,
        "this device offers no Remove",
      );
      await mine.getByRole("listitem").nth(1).getByRole("button", { name: "Remove" }).click();
      const confirm = settings.getByRole("region", { name: "Remove device 2" });
      await waitForText(confirm.locator("p"), /cannot be undone/);
      await s.screenshot(bob, "remove-device-confirm");
      await confirm.getByRole("button", { name: "Keep it" }).click();
      await waitForCount(mine.getByRole("button", { name: "Remove" }), 1);
      await mine.getByRole("listitem").nth(1).getByRole("button", { name: "Remove" }).click();
      await settings
        .getByRole("region", { name: "Remove device 2" })
        .getByRole("button", { name: "Remove this device" })
        .click();
      await waitForCount(mine.getByRole("listitem"), 1);

      // The phone says what happened, back at sign-in, with nothing left of the account.
      await waitForText(
        bobPhone.page.getByTestId("signin-notice"),
        /^This device was removed from your account/,
      );
      await s.screenshot(bobPhone, "removed-phone");
      await closeDialog(settings);

      // Alice: a quiet line, still verified, no alarm; what she says reaches Bob's laptop.
      const removedLine = alice.page.locator('[data-testid="device-line"][data-kind="removed"]');
      await waitForText(removedLine.first(), new RegExp(`${bob.username} removed a device$`));
      assert.equal(
        await alice.page.getByRole("alert").count(),
        0,
        "an alarm was raised for a removed device",
      );
      await alice.page.getByRole("button", { name: "Encryption: verified", exact: true }).waitFor();
      await sendMessage(alice.page, "Only your laptop reads this.");
      await waitForMessage(bob.page, alice.username, "Only your laptop reads this.");

      // The lines are kept with the history: a reload shows them again.
      await alice.page.reload();
      await waitForSignedIn(alice.page, alice.username);
      await openConversation(alice.page, bob.username);
      await waitForText(removedLine.first(), new RegExp(`${bob.username} removed a device$`));
      await waitForText(
        alice.page.locator('[data-testid="device-line"][data-kind="added"]').first(),
        new RegExp(`${bob.username} added a device$`),
      );
    }));

  it("refuses a mistyped code and sends nothing", (t) =>
    s.check(t, async () => {
      const bob = await newPerson(s, "bob");
      const bobTablet = await newUnlinkedDevice(s, bob, "bob-tablet");
      const code = await showLinkCode(bobTablet.page);
      const wrong = `${code.slice(0, 10)}${code[10] === "0" ? "1" : "0"}`;
      const linking = await openLinkNewDevice(bob.page);
      await linking.getByRole("textbox", { name: "Code shown on the new device" }).fill(wrong);
      await linking.getByRole("button", { name: "Link" }).click();
      await waitForText(linking.getByRole("alert"), /^No new device shows that code\./);
      // The new device is still waiting, not linked.
      await waitForText(linkScreen(bobTablet.page).getByRole("status"), "Waiting for your other device…");
    }));
});

describe("resetting an identity", () => {
  let s: E2eSuite;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
  });
  after(async () => {
    await s?.close();
  });

  it("blocks the composer of a contact who verified the person, and only notifies one who did not", (t) =>
    s.check(t, async () => {
      const [alice, bob] = await verifiedPair(s);
      const carol = await newPerson(s, "carol");
      await openDirect(bob.page, carol.username);
      await sendMessage(bob.page, "Hi Carol.");
      await openConversation(carol.page, bob.username);
      await waitForMessage(carol.page, bob.username, "Hi Carol.");

      const bobNew = await newUnlinkedDevice(s, bob, "bob-new");
      await linkScreen(bobNew.page).getByRole("button", { name: "Reset identity" }).click();
      const form = bobNew.page.getByRole("form", { name: "Reset identity" });
      await waitForText(form.getByRole("note"), /everyone you talk to is told your identity changed/);
      // A wrong password resets nothing.
      await form.getByLabel("Password", { exact: true }).fill("Wrong-Harbour-Lamp-8");
      await form.getByRole("button", { name: "Reset identity" }).click();
      await form.getByRole("alert").waitFor();
      await form.getByLabel("Password", { exact: true }).fill(bob.password);
      await form.getByRole("button", { name: "Reset identity" }).click();
      await waitForSignedIn(bobNew.page, bob.username);
      await openConversation(bobNew.page, alice.username);
      await sendMessage(bobNew.page, "I reset my identity.");
      await openConversation(bobNew.page, carol.username);
      await sendMessage(bobNew.page, "I reset my identity, Carol.");

      // Alice had verified Bob: an alarm that blocks sending until she reviews it.
      const banner = alice.page
        .getByRole("alert")
        .filter({ hasText: `${bob.username}'s security key changed` });
      await banner.waitFor();
      assert.ok(await composer(alice.page).isDisabled(), "the composer is blocked for a verified contact");
      // Carol had not: a notice, and she can go on writing.
      const notice = carol.page
        .getByRole("status")
        .filter({ hasText: `${bob.username}'s security key changed` });
      await notice.waitFor();
      await until(async () => composer(carol.page).isEnabled(), "Carol's composer to stay enabled");
      assert.equal(
        await carol.page.getByRole("alert").filter({ hasText: "security key changed" }).count(),
        0,
      );
    }));
});
