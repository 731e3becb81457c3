import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Secret, TOTP } from "otpauth";
import { STRONG_PASSWORD, uniqueName } from "../integration/support/harness.js";
import { E2eSuite, type E2eUser } from "./support/suite.js";
import {
  closeDialog,
  gotoRoute,
  openSettings,
  register,
  signOut,
  submitSignIn,
  waitForSignedIn,
} from "./support/ui.js";
import { waitForText } from "./support/wait.js";

// Issue 19 parts 4 and 5 in the browser: two-step sign-in (PROTOCOL.md AUTH-13, AUTH-14) set up
// from the settings with a locally drawn QR code, and the server's signed policy (POLICY-1,
// POLICY-2) in a "This server" panel, with the warning an operator's change raises.

const totp = (secret: string) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 });

/**
 * The code an authenticator shows during TOTP step `step` (30 s each). The server takes the
 * steps next to its own (clock skew, PROTOCOL.md AUTH-13) and each step once, so the test uses
 * one step to turn it on and the next to sign in, without waiting for that step to come round.
 */
const codeAt = (secret: string, step: number) => totp(secret).generate({ timestamp: step * 30_000 });

describe("two-step sign-in and the server's policy in the browser", () => {
  let s: E2eSuite;
  let person: E2eUser;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    person = await s.newUser("tess");
  });
  after(async () => {
    await s?.close();
  });

  it("turns on two-step sign-in with a QR code, then signs in with a code", (t) =>
    s.check(t, async () => {
      const { page } = person;
      const name = uniqueName("tess");
      await register(page, name, STRONG_PASSWORD);
      const settings = await openSettings(page);
      const section = settings.getByRole("region", { name: "Two-step sign-in" });
      await waitForText(section.getByTestId("totp-state"), /^Off\./);
      const setUp = section.getByRole("form", { name: "Turn on two-step sign-in" });
      await setUp.getByLabel("Password").fill(STRONG_PASSWORD);
      await setUp.getByRole("button", { name: "Set up" }).click();
      const confirm = section.getByRole("form", { name: "Confirm two-step sign-in" });
      await confirm.getByRole("img", { name: "Authenticator QR code" }).waitFor();
      const secret = (await confirm.getByTestId("totp-secret").textContent()) ?? "";
      assert.match(secret, /^[A-Z2-7]{32}$/);
      const enrolledAt = TOTP.counter({ period: 30 });
      await confirm.getByLabel("The code your app shows").fill(codeAt(secret, enrolledAt));
      await confirm.getByRole("button", { name: "Turn on" }).click();
      const codes = settings.getByTestId("totp-recovery-codes").getByRole("listitem");
      await codes.first().waitFor();
      assert.equal(await codes.count(), 10);
      await settings.getByRole("button", { name: "I have put them away" }).click();
      await waitForText(section.getByTestId("totp-state"), /^On\. 10 recovery codes left\./);
      await closeDialog(settings);
      await signOut(page);

      await submitSignIn(page, name, STRONG_PASSWORD);
      const step = page.getByRole("form", { name: "Two-step sign-in" });
      const code = step.getByLabel(/Code from your authenticator app/);
      const valid = new Set([-1, 0, 1, 2].map((d) => codeAt(secret, TOTP.counter({ period: 30 }) + d)));
      const wrong = ["123456", "654321"].find((c) => !valid.has(c)) ?? "000000";
      await code.fill(wrong);
      await step.getByRole("button", { name: "Continue" }).click();
      await waitForText(step.getByRole("alert"), /^Wrong, used or expired authenticator code/);
      // The code that turned it on was used; the next step's is one the server has not seen.
      await code.fill(codeAt(secret, enrolledAt + 1));
      await step.getByRole("button", { name: "Continue" }).click();
      await waitForSignedIn(page, name);
    }));

  it("shows what the server keeps in a panel, and warns when the operator turns the queue on", (t) =>
    s.check(t, async () => {
      const page = (await s.newUser("viewer")).page;
      await gotoRoute(page, "trust");
      const panel = page.getByRole("region", { name: "This server" });
      await waitForText(panel, /Messages\s*never stored on the server/);
      await waitForText(page.getByTestId("trust-policy-fingerprint"), s.server.server.policyKeyFingerprint);
      assert.equal(await page.getByTestId("policy-warning").count(), 0, "nothing to warn about at first use");

      await s.stopServer();
      await s.restartServer({ offlineQueue: "on" });
      await page.reload();
      await gotoRoute(page, "signin");
      const warning = page.getByRole("alert", { name: "Server policy changed" });
      await waitForText(
        warning,
        /This server's policy changed.*Messages: never stored on the server → kept \(ciphertext\) for offline devices up to 7 days/,
      );
      await warning.getByRole("button", { name: "I understand" }).click();
      await warning.waitFor({ state: "detached" });
      await page.reload();
      await gotoRoute(page, "trust");
      await waitForText(page.getByRole("region", { name: "This server" }), /kept \(ciphertext\)/);
      assert.equal(await page.getByTestId("policy-warning").count(), 0, "acknowledged: pinned anew");
    }));

  it("raises the warning at a reconnect, without a reload, when the server comes back changed", (t) =>
    s.check(t, async () => {
      const viewer = await s.newUser("signedin");
      const { page } = viewer;
      await register(page, uniqueName("rhea"), STRONG_PASSWORD);
      await waitForText(page.getByTestId("connection"), "Connected");
      assert.equal(await page.getByTestId("policy-warning").count(), 0, "pinned at this page's first use");

      // The operator restarts the server with the offline queue off again: the open page
      // reconnects by itself and checks the policy as it does.
      await s.stopServer();
      await s.restartServer({ offlineQueue: "off" });
      await waitForText(page.getByTestId("connection"), "Connected");
      const warning = page.getByRole("alert", { name: "Server policy changed" });
      await waitForText(
        warning,
        /Messages: kept \(ciphertext\) for offline devices up to 7 days → never stored on the server/,
      );
      await s.screenshot(viewer, "policy-changed-at-reconnect");
      await warning.getByRole("button", { name: "I understand" }).click();
      await warning.waitFor({ state: "detached" });
    }));
});
