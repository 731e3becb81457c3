import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { FakeCamera, qrModulesOf, qrModulesOnScreen } from "./support/camera.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite, PHONE } from "./support/suite.js";
import {
  closeDialog,
  lockBadge,
  openConversation,
  openDirect,
  readSafetyNumber,
  safetyDialog,
  sendMessage,
  waitForMessage,
} from "./support/ui.js";
import { waitForText } from "./support/wait.js";

// Issue 14 part 5: a QR scanner in the browser. Chromium's fake camera films the QR code that
// the other person's page draws, so a scan here is what one phone pointed at another would be.

/** Alice and Bob with a direct conversation, each with the safety dialog of the other open. */
async function pairWithDialogs(s: E2eSuite, aliceViewport = PHONE): Promise<[Person, Person]> {
  const alice = await newPerson(s, "alice", { viewport: aliceViewport });
  const bob = await newPerson(s, "bob");
  await openDirect(bob.page, alice.username);
  await sendMessage(bob.page, "Shall we scan?");
  await openConversation(alice.page, bob.username);
  await waitForMessage(alice.page, bob.username, "Shall we scan?");
  await readSafetyNumber(alice.page, bob.username);
  await readSafetyNumber(bob.page, alice.username);
  return [alice, bob];
}

function qrOf(page: Page, peer: string) {
  return safetyDialog(page, peer).getByRole("img", { name: "QR code" });
}

describe("scanning a safety code", () => {
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

  it("verifies the contact when their code matches, in both directions, on a phone-sized screen", (t) =>
    s.check(t, async () => {
      const [alice, bob] = await pairWithDialogs(s);
      const aliceDialog = safetyDialog(alice.page, bob.username);
      await waitForText(aliceDialog.locator(".trust-state"), `You have not verified ${bob.username} yet.`);

      // The scanner is not part of the first screen: opening it fetches its code.
      const scriptsBefore = new Set(alice.guard.requests.map((r) => r.url));
      await camera.show(await qrModulesOnScreen(qrOf(bob.page, alice.username)));
      await aliceDialog.getByRole("button", { name: "Scan their code" }).click();
      await aliceDialog.getByLabel(`Camera: scan ${bob.username}'s code`).waitFor();
      const fetched = alice.guard.requests.filter((r) => r.url.endsWith(".js") && !scriptsBefore.has(r.url));
      assert.ok(fetched.length > 0, "opening the scanner loaded no new script: it was in the first bundle");

      await waitForText(aliceDialog.getByRole("status"), `The codes match: ${bob.username} is verified.`);
      await waitForText(aliceDialog.locator(".trust-state"), `You have verified ${bob.username}.`);
      // Phone-sized: the dialog fits the screen's width and its buttons can be reached.
      const box = await aliceDialog.boundingBox();
      assert.ok(
        box !== null && box.x >= 0 && box.x + box.width <= PHONE.width,
        `dialog ${JSON.stringify(box)}`,
      );
      await s.screenshot(alice, "phone-scanned");
      await closeDialog(aliceDialog);
      await alice.page.getByRole("button", { name: "Encryption: verified", exact: true }).waitFor();

      // Only Alice scanned: Bob has not verified her until he scans her code in turn.
      const bobDialog = safetyDialog(bob.page, alice.username);
      await waitForText(bobDialog.locator(".trust-state"), `You have not verified ${alice.username} yet.`);
      await readSafetyNumber(alice.page, bob.username);
      await camera.show(await qrModulesOnScreen(qrOf(alice.page, bob.username)));
      await bobDialog.getByRole("button", { name: "Scan their code" }).click();
      await waitForText(bobDialog.getByRole("status"), `The codes match: ${alice.username} is verified.`);
      await closeDialog(bobDialog);
      await bob.page.getByRole("button", { name: "Encryption: verified", exact: true }).waitFor();
      // The scanner and its decoder ran under the server's CSP (no inline code, no wasm) without a complaint.
      const problems = [alice, bob].flatMap((u) => [
        ...u.consoleErrors.filter((m) => /Content.Security.Policy/i.test(m)).map((m) => `${u.label}: ${m}`),
        ...u.pageErrors.map((m) => `${u.label}: ${m}`),
      ]);
      assert.deepEqual(problems, []);
    }));

  it("refuses another person's code, and a QR code that is not a safety code, and marks nothing", (t) =>
    s.check(t, async () => {
      const [alice, bob] = await pairWithDialogs(s);
      // Carol's safety code with Alice: a real Parley code, but for another pair.
      const carol = await newPerson(s, "carol");
      await openDirect(carol.page, alice.username);
      await readSafetyNumber(carol.page, alice.username);
      await camera.show(await qrModulesOnScreen(qrOf(carol.page, alice.username)));

      const dialog = safetyDialog(alice.page, bob.username);
      await dialog.getByRole("button", { name: "Scan their code" }).click();
      await waitForText(
        dialog.getByRole("alert"),
        /^The code does not match\..* was not marked as verified\.$/,
      );
      await waitForText(dialog.locator(".trust-state"), `You have not verified ${bob.username} yet.`);

      await camera.show(qrModulesOf("https://127.0.0.1/not-a-safety-code"));
      await dialog.getByRole("button", { name: "Scan again" }).click();
      await waitForText(
        dialog.getByRole("alert"),
        "That QR code is not a Parley safety code. Nothing was marked.",
      );
      await waitForText(dialog.locator(".trust-state"), `You have not verified ${bob.username} yet.`);
      await closeDialog(dialog);
      await alice.page.getByRole("button", { name: "Encryption: not verified", exact: true }).waitFor();
      // A refused scan is not remembered anywhere: the next dialog still offers the scan.
      await lockBadge(alice.page).click();
      await safetyDialog(alice.page, bob.username).getByRole("button", { name: "Scan their code" }).waitFor();
      await closeDialog(safetyDialog(alice.page, bob.username));
    }));
});

describe("scanning with the camera refused", () => {
  let s: E2eSuite;
  let camera: FakeCamera;
  before(async () => {
    camera = await FakeCamera.create();
    // A camera is there, but every request for it is answered "deny", as a user who said no.
    s = await E2eSuite.start(
      import.meta.url,
      { authRatePerMin: 10_000 },
      {
        chromiumArgs: camera.chromiumArgs.map((a) =>
          a === "--use-fake-ui-for-media-stream" ? `${a}=deny` : a,
        ),
      },
    );
  });
  after(async () => {
    await s?.close();
    await camera?.close();
  });

  it("says so plainly when camera access is denied, and marks nothing", (t) =>
    s.check(t, async () => {
      const [alice, bob] = await pairWithDialogs(s);
      const dialog = safetyDialog(alice.page, bob.username);
      await dialog.getByRole("button", { name: "Scan their code" }).click();
      await waitForText(
        dialog.getByRole("alert"),
        /^Camera access was denied\. Allow the camera for this site/,
      );
      await waitForText(dialog.locator(".trust-state"), `You have not verified ${bob.username} yet.`);
      // Stopping gives the scan button back, for after the user changed the browser's setting.
      await dialog.getByRole("button", { name: "Stop scanning" }).click();
      await dialog.getByRole("button", { name: "Scan their code" }).waitFor();
    }));
});

describe("scanning without a camera", () => {
  let s: E2eSuite;
  before(async () => {
    // No fake camera: this Chromium has no video device at all.
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
  });
  after(async () => {
    await s?.close();
  });

  it("says so plainly when there is no camera, and marks nothing", (t) =>
    s.check(t, async () => {
      const [alice, bob] = await pairWithDialogs(s);
      await alice.context.grantPermissions(["camera"], { origin: s.url });
      const dialog = safetyDialog(alice.page, bob.username);
      await dialog.getByRole("button", { name: "Scan their code" }).click();
      await waitForText(
        dialog.getByRole("alert"),
        /^No camera was found on this device\. Compare the digits instead\.$/,
      );
      await waitForText(dialog.locator(".trust-state"), `You have not verified ${bob.username} yet.`);
    }));
});
