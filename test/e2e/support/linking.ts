import type { Locator, Page } from "playwright-core";
import type { Person } from "./people.js";
import type { E2eSuite, UserOptions } from "./suite.js";
import { openSettings, submitSignIn, waitForSignedIn } from "./ui.js";
import { waitForText } from "./wait.js";

/** The screen a new browser of a person with an identity shows after signing in. */
export function linkScreen(page: Page): Locator {
  return page.getByRole("region", { name: "Link this device" });
}

/** The same person on a new browser, signed in and stopped at "Link this device" (not linked yet). */
export async function newUnlinkedDevice(
  s: E2eSuite,
  person: Person,
  label: string,
  options: UserOptions = {},
) {
  const user = await s.newUser(label, options);
  await submitSignIn(user.page, person.username, person.password);
  await linkScreen(user.page).waitFor();
  return Object.assign(user, { username: person.username, password: person.password });
}

/** On the new device: "Link this device", then the short code it shows. */
export async function showLinkCode(page: Page): Promise<string> {
  const screen = linkScreen(page);
  await screen.getByRole("button", { name: "Link this device" }).click();
  return waitForText(screen.getByTestId("link-code"), /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
}

/** On an existing device: Settings → Devices → "Link a new device"; returns the settings dialog. */
export async function openLinkNewDevice(page: Page): Promise<Locator> {
  const settings = await openSettings(page);
  await settings.getByRole("button", { name: "Link a new device" }).click();
  return settings.getByRole("region", { name: "Link a new device" });
}

/** Both screens show the same six digits; the user confirms on both; the new device is in. */
export async function compareAndConfirm(
  existing: Locator,
  newDevice: Page,
  username: string,
): Promise<string> {
  const shownOld = await waitForText(existing.getByTestId("link-sas"), /^\d{6}$/);
  const screen = linkScreen(newDevice);
  const shownNew = await waitForText(screen.getByTestId("link-sas"), /^\d{6}$/);
  if (shownOld !== shownNew)
    throw new Error(`the two devices show different digits: ${shownOld} / ${shownNew}`);
  await existing.getByRole("button", { name: "The digits match" }).click();
  await screen.getByRole("button", { name: "The digits match" }).click();
  await waitForText(existing.getByRole("status"), /^Linked\./);
  await waitForSignedIn(newDevice, username);
  return shownOld;
}

/** On a browser at "Link this device": "Reset identity", the password, and into the app. */
export async function resetIdentityHere(page: Page, username: string, password: string): Promise<void> {
  await linkScreen(page).getByRole("button", { name: "Reset identity" }).click();
  const form = page.getByRole("form", { name: "Reset identity" });
  await form.getByLabel("Password", { exact: true }).fill(password);
  await form.getByRole("button", { name: "Reset identity" }).click();
  await waitForSignedIn(page, username);
}
