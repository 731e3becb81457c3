import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { linkScreen, resetIdentityHere } from "./support/linking.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  closeDialog,
  conversationButton,
  conversationHeading,
  messageLog,
  messages,
  openConversation,
  openDirect,
  openSettings,
  sendMessage,
  signOut,
  submitSignIn,
  unreadBadge,
  waitForMessage,
  waitForSignedIn,
} from "./support/ui.js";
import { until, waitForText } from "./support/wait.js";

// Issue 13: history is kept on every device by default, sealed in the account's IndexedDB
// store; Settings can keep N days or nothing; unread counts survive a reload; signing out with
// erase removes it. A browser context's storage is the device: a reload keeps it. The reload
// follows the last message at once, as a person closing the tab right after reading it would.

/**
 * Every record of the page's IndexedDB databases, keys and values, as text: byte values are
 * decoded as UTF-8 (so a plaintext message would show), keys (CryptoKey) by their type. A
 * script string, so it runs in the page as written.
 */
function rawIndexedDb(page: Page): Promise<string> {
  return page.evaluate<string>(`(async () => {
    const out = [];
    const decoder = new TextDecoder("utf-8", { fatal: false });
    const show = (v) =>
      v instanceof Uint8Array || v instanceof ArrayBuffer ? decoder.decode(v)
        : v instanceof CryptoKey ? "[CryptoKey]" : JSON.stringify(v);
    const done = (req) => new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    for (const { name } of await indexedDB.databases()) {
      const db = await done(indexedDB.open(name));
      for (const store of Array.from(db.objectStoreNames)) {
        const os = db.transaction(store, "readonly").objectStore(store);
        const keys = await done(os.getAllKeys());
        const values = await done(os.getAll());
        keys.forEach((k, i) => out.push(store + " " + String(k) + " = " + show(values[i])));
      }
      db.close();
    }
    return out.join("\\n");
  })()`);
}

describe("history on this device", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  const canary = `canary-${randomBytes(6).toString("hex")}`;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
    await openDirect(bob.page, alice.username);
    await sendMessage(bob.page, `Said before any reload. ${canary}`);
    await openConversation(alice.page, bob.username);
    await waitForMessage(alice.page, bob.username, "Said before any reload.");
  });
  after(async () => {
    await s?.close();
  });

  /** Alice reloads her page and is signed in again from this device. */
  async function reloadAlice(open = true): Promise<void> {
    await alice.page.reload();
    await waitForSignedIn(alice.page, alice.username);
    if (open) await openConversation(alice.page, bob.username);
  }

  async function chooseRetention(label: string): Promise<void> {
    const settings = await openSettings(alice.page);
    await settings.getByRole("combobox", { name: "History on this device" }).selectOption({ label });
    await closeDialog(settings);
  }

  it("keeps messages across a reload by default, sealed: IndexedDB holds no plaintext of them", (t) =>
    s.check(t, async () => {
      await reloadAlice();
      await waitForMessage(alice.page, bob.username, "Said before any reload.");
      const settings = await openSettings(alice.page);
      const choice = settings.getByRole("combobox", { name: "History on this device" });
      assert.equal(await choice.inputValue(), "all");
      await closeDialog(settings);

      const raw = await rawIndexedDb(alice.page);
      assert.match(raw, /\/history\/room\/[0-9A-Z]{6}/, "the conversation is kept");
      assert.ok(!raw.includes(canary), "no plaintext message in any IndexedDB record");
    }));

  it("keeps unread counts across a reload", (t) =>
    s.check(t, async () => {
      // Nothing open: a message arrives unread.
      await reloadAlice(false);
      await sendMessage(bob.page, "Unread until opened.");
      await waitForText(unreadBadge(alice.page, bob.username), /\b1 unread\b/);
      await reloadAlice(false);
      await waitForText(unreadBadge(alice.page, bob.username), /\b1 unread\b/);
      await openConversation(alice.page, bob.username);
      await waitForMessage(alice.page, bob.username, "Unread until opened.");
    }));

  it("keeps nothing once told so, and says so in an empty conversation", (t) =>
    s.check(t, async () => {
      await chooseRetention("Keep nothing");
      await reloadAlice();
      const log = messageLog(alice.page);
      await waitForText(log.getByTestId("device-storage"), /^This device keeps no history/);
      await waitForText(log.getByTestId("server-storage"), /^This server keeps no messages/);
      assert.equal(await messages(alice.page, bob.username).count(), 0);
      assert.ok(!(await rawIndexedDb(alice.page)).includes("/history/room/"), "nothing kept");
      await chooseRetention("Keep");
    }));

  it("shows a disappearing timer one member sets as a line for both, and in the header", (t) =>
    s.check(t, async () => {
      const timer = (page: Page) => page.getByRole("combobox", { name: "Disappearing messages" });
      await openConversation(bob.page, alice.username);
      await timer(alice.page).selectOption({ label: "1 day" });
      const line = `${alice.username} set disappearing messages to 1 day`;
      for (const page of [alice.page, bob.page]) {
        await waitForText(messageLog(page).getByTestId("system-line").last(), new RegExp(`${line}$`));
        await until(async () => (await timer(page).inputValue()) === "86400", "the header shows 1 day");
      }
      await timer(bob.page).selectOption({ label: "Off" });
      for (const page of [alice.page, bob.page]) {
        await waitForText(
          messageLog(page).getByTestId("system-line").last(),
          new RegExp(`${bob.username} turned off disappearing messages$`),
        );
        await until(async () => (await timer(page).inputValue()) === "0", "the header shows off");
      }
    }));

  it("erases the history with the keys when signing out with erase", (t) =>
    s.check(t, async () => {
      await sendMessage(bob.page, "Kept until erased.");
      await waitForMessage(alice.page, bob.username, "Kept until erased.");
      await reloadAlice();
      await waitForMessage(alice.page, bob.username, "Kept until erased.");

      await signOut(alice.page, { erase: true });
      assert.ok(!(await rawIndexedDb(alice.page)).includes("/history/"), "no history left");
      // The identity key went with the erased keys: this browser now links or resets (issue 14).
      await submitSignIn(alice.page, alice.username, alice.password);
      await linkScreen(alice.page).waitFor();
      await resetIdentityHere(alice.page, alice.username, alice.password);
      await openConversation(alice.page, bob.username);
      await reloadAlice();
      await waitForText(
        messageLog(alice.page).getByTestId("server-storage"),
        /^This server keeps no messages/,
      );
      assert.equal(await messages(alice.page, bob.username).count(), 0);
    }));

  // Issue 20: a cold load lists the conversations this device kept, usable at once, while the
  // server has not answered on the socket yet. Last: the socket stays held for this page.
  it("lists its conversations from this device while the server has not answered on the socket", (t) =>
    s.check(t, async () => {
      const held: string[] = [];
      // The page's socket opens but nothing reaches the server, so no `ready` ever comes.
      await alice.page.routeWebSocket(/\/ws$/, (ws) => {
        ws.onMessage((frame) => held.push(String(frame)));
      });
      await alice.page.reload();
      const entry = conversationButton(alice.page, bob.username).and(alice.page.locator(":enabled"));
      await entry.waitFor();
      await until(async () => held.some((f) => f.includes('"type":"auth"')), "the socket is opened and held");
      await waitForText(alice.page.getByTestId("connection"), "Connecting");
      await entry.click();
      await conversationHeading(alice.page, bob.username).waitFor();
    }));
});
