import type { Locator, Page } from "playwright-core";
import { WAIT_MS, waitForText } from "./wait.js";

// Page helpers written against docs' UI contract (/work/notes/ui-contract.md): elements are
// found by role and accessible name, as a person with a screen reader would find them;
// data-testid only where no role fits.

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Navigates within the single-page app by its hash route (#/signin, #/register, #/trust, #/app). */
export async function gotoRoute(page: Page, route: "signin" | "register" | "trust" | "app"): Promise<void> {
  const url = new URL(page.url());
  if (url.hash === `#/${route}`) return;
  url.hash = `#/${route}`;
  await page.goto(url.href);
}

export function signInForm(page: Page): Locator {
  return page.getByRole("form", { name: "Sign in" });
}

export function registerForm(page: Page): Locator {
  return page.getByRole("form", { name: "Create account" });
}

/** Fills the register form and submits it; does not wait for the outcome. */
export async function submitRegistration(page: Page, username: string, password: string, confirm = password) {
  await gotoRoute(page, "register");
  const form = registerForm(page);
  await form.getByRole("textbox", { name: "Username" }).fill(username);
  await form.getByLabel("Password", { exact: true }).fill(password);
  await form.getByLabel("Confirm password", { exact: true }).fill(confirm);
  await form.getByRole("button", { name: "Create account" }).click();
}

/** Registers and waits for the main view to show the signed-in name. */
export async function register(page: Page, username: string, password: string): Promise<void> {
  await submitRegistration(page, username, password);
  await waitForSignedIn(page, username);
}

/** Fills the sign-in form and submits it; does not wait for the outcome. */
export async function submitSignIn(page: Page, username: string, password: string): Promise<void> {
  await gotoRoute(page, "signin");
  const form = signInForm(page);
  await form.getByRole("textbox", { name: "Username" }).fill(username);
  await form.getByLabel("Password", { exact: true }).fill(password);
  await form.getByRole("button", { name: "Sign in" }).click();
}

export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await submitSignIn(page, username, password);
  await waitForSignedIn(page, username);
}

export async function waitForSignedIn(page: Page, username: string): Promise<void> {
  await waitForText(page.getByTestId("me"), username);
  await waitForText(page.getByTestId("connection"), "Connected");
}

export async function openSettings(page: Page): Promise<Locator> {
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "Settings" });
  await dialog.waitFor();
  return dialog;
}

/** Signs out from Settings; with `erase`, ticks "Erase this device's keys and history" first. */
export async function signOut(page: Page, options: { erase?: boolean } = {}): Promise<void> {
  const dialog = await openSettings(page);
  if (options.erase)
    await dialog.getByRole("checkbox", { name: "Erase this device's keys and history" }).check();
  await dialog.getByRole("button", { name: "Sign out", exact: true }).click();
  await signInForm(page).waitFor();
}

export async function closeDialog(dialog: Locator): Promise<void> {
  await dialog.getByRole("button", { name: "Close" }).click();
  await dialog.waitFor({ state: "hidden" });
}

/**
 * The sidebar entry of a room or DM: a button whose accessible name starts with its name (then
 * maybe ", N unread"). The lookahead keeps "bob" from matching "bob2".
 */
export function conversationButton(page: Page, name: string): Locator {
  return page
    .getByRole("navigation", { name: "Conversations" })
    .getByRole("button", { name: new RegExp(`^${escapeRegExp(name)}(?![\\w.-])`) });
}

/** The unread badge inside a conversation's sidebar entry; its text contains "N unread". */
export function unreadBadge(page: Page, name: string): Locator {
  return conversationButton(page, name).getByTestId("unread");
}

/** The conversation's title: the level-2 heading with its name. */
export function conversationHeading(page: Page, name: string): Locator {
  return page.getByRole("heading", { level: 2, name, exact: true });
}

export async function openConversation(page: Page, name: string): Promise<void> {
  await conversationButton(page, name).click({ timeout: WAIT_MS });
  await conversationHeading(page, name).waitFor();
}

/** Accepts an invitation to a room from the "Invitations" list. */
export async function acceptInvitation(page: Page, roomName: string): Promise<void> {
  await page
    .getByRole("list", { name: "Invitations" })
    .getByRole("button", { name: `Join ${roomName}`, exact: true })
    .click({ timeout: WAIT_MS });
  await conversationHeading(page, roomName).waitFor();
}

/**
 * Creates a room, which then is the selected conversation; returns its id. Private (invitation
 * only) unless `options.isPublic`, as in the dialog (ROOM-2).
 */
export async function createRoom(
  page: Page,
  name: string,
  options: { isPublic?: boolean; maxMembers?: number; passphrase?: string } = {},
): Promise<string> {
  await page.getByRole("button", { name: "New room" }).click();
  const dialog = page.getByRole("dialog", { name: "New room" });
  await dialog.getByRole("textbox", { name: "Room name" }).fill(name);
  if (options.isPublic === true) await dialog.getByRole("radio", { name: /^Public/ }).check();
  if (options.maxMembers !== undefined)
    await dialog.getByRole("spinbutton", { name: /Member limit/ }).fill(String(options.maxMembers));
  if (options.passphrase !== undefined) await dialog.getByLabel(/Join passphrase/).fill(options.passphrase);
  await dialog.getByRole("button", { name: "Create" }).click();
  await dialog.waitFor({ state: "hidden" });
  await conversationHeading(page, name).waitFor();
  return waitForText(page.getByTestId("room-id"), /\S/);
}

export async function invite(page: Page, username: string): Promise<void> {
  await page.getByRole("button", { name: "Invite", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "Invite" });
  await dialog.getByRole("textbox", { name: "Username" }).fill(username);
  await dialog.getByRole("button", { name: "Send invite" }).click();
  await dialog.waitFor({ state: "hidden" });
}

/** Joins a room by id or a public room's name from the "Join room" dialog. */
export async function joinRoom(page: Page, roomIdOrName: string): Promise<void> {
  await page.getByRole("button", { name: "Join room" }).click();
  const dialog = page.getByRole("dialog", { name: "Join room" });
  await dialog.getByRole("textbox", { name: "Room id or name" }).fill(roomIdOrName);
  await dialog.getByRole("button", { name: "Join", exact: true }).click();
  await dialog.waitFor({ state: "hidden" });
}

export function composer(page: Page): Locator {
  return page.getByRole("textbox", { name: "Message" });
}

/** Types `text` into the composer and presses Enter. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  const box = composer(page);
  await box.fill(text);
  await box.press("Enter");
}

export function messageLog(page: Page): Locator {
  return page.getByRole("log", { name: "Messages" });
}

/** The message articles from `from` whose body contains `text`. */
export function messages(page: Page, from: string, text?: string): Locator {
  const all = messageLog(page).locator(`[data-testid="message"][data-from="${from}"]`);
  return text === undefined
    ? all
    : all.filter({ has: page.getByTestId("body").getByText(text, { exact: false }) });
}

/** Waits until a message from `from` with `text` in its body is in the open conversation. */
export async function waitForMessage(
  page: Page,
  from: string,
  text: string,
  timeout = WAIT_MS,
): Promise<Locator> {
  const m = messages(page, from, text).last();
  await m.waitFor({ timeout });
  return m;
}

export function peopleEntry(page: Page, username: string): Locator {
  return page.getByRole("region", { name: "People" }).locator(`li[data-user="${username}"]`);
}

/** Starts (or opens) the direct conversation with `username` from the People list. */
export async function openDirect(page: Page, username: string): Promise<void> {
  await peopleEntry(page, username)
    .getByRole("button", { name: `Message ${username}` })
    .click();
  await conversationHeading(page, username).waitFor();
}

export function lockBadge(page: Page): Locator {
  return page.getByRole("button", { name: /^Encryption: / });
}

export function safetyDialog(page: Page, peer: string): Locator {
  return page.getByRole("dialog", { name: `Safety number with ${peer}` });
}

/** 12 groups of 5 digits separated by spaces. */
export const SAFETY_NUMBER = /^(\d{5} ){11}\d{5}$/;

/**
 * Opens the safety-number dialog from the open conversation's lock badge and returns the 60
 * digits as shown (the dialog stays open; see closeDialog).
 */
export async function readSafetyNumber(page: Page, peer: string): Promise<string> {
  await lockBadge(page).click();
  const dialog = safetyDialog(page, peer);
  await dialog.waitFor();
  const digits = await waitForText(dialog.getByTestId("safety-number"), SAFETY_NUMBER);
  await dialog.getByRole("img", { name: "QR code" }).waitFor();
  return digits;
}
