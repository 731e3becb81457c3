import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { uniqueName } from "../integration/support/harness.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  acceptInvitation,
  closeDialog,
  composer,
  conversationHeading,
  createRoom,
  invite,
  openConversation,
  openDirect,
  openSettings,
  sendMessage,
  waitForMessage,
} from "./support/ui.js";
import { until, waitForText } from "./support/wait.js";

// Issue 18.5: system notifications in Chromium for a page in the background, by each
// conversation's level (all, mentions only, muted), the title badge, and a permission that the
// page asks for only when the person acts.

interface Shown {
  readonly title: string;
  readonly body: string;
  readonly tag: string;
}

/**
 * Wraps the page's real Notification so every one shown is also recorded (and can be clicked),
 * and counts permission requests. The real constructor still runs: a refused permission would
 * throw here as in the page.
 */
const RECORD_NOTIFICATIONS = `(() => {
  const Real = window.Notification;
  window.__shown = [];
  window.__asked = 0;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__shown.push({ title, body: options?.body ?? "", tag: options?.tag ?? "" });
      window.__last = this;
    }
    static requestPermission(...args) {
      window.__asked++;
      return Real.requestPermission(...args);
    }
  }
  Object.defineProperty(window, "Notification", { value: Recorded, configurable: true, writable: true });
})()`;

/**
 * Headless Chromium keeps every page visible (another page in front, a minimised window), so the
 * page is told it is hidden as a browser tells a background tab: visibilityState and the event.
 */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate(`(() => {
    const h = ${hidden};
    Object.defineProperty(document, "visibilityState", { get: () => (h ? "hidden" : "visible"), configurable: true });
    Object.defineProperty(document, "hidden", { get: () => h, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  })()`);
}

const shown = (page: Page) => page.evaluate("window.__shown") as Promise<Shown[]>;
const asked = (page: Page) => page.evaluate("window.__asked") as Promise<number>;

async function waitForShown(page: Page, n: number): Promise<Shown[]> {
  return until(async () => {
    const list = await shown(page);
    return list.length >= n ? list : undefined;
  }, `${n} notifications`);
}

const titleIs = (page: Page, title: string) =>
  until(async () => (await page.title()) === title, `the title "${title}"`);

async function setLevel(page: Page, label: "All messages" | "Mentions only" | "Muted"): Promise<void> {
  await page.getByRole("combobox", { name: "Notifications" }).selectOption({ label });
}

describe("notifications (issue 18.5)", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
    await bob.context.grantPermissions(["notifications"], { origin: s.url });
    await bob.context.addInitScript(RECORD_NOTIFICATIONS);
    await bob.page.reload();
    await waitForText(bob.page.getByTestId("connection"), "Connected");
  });
  after(async () => {
    await s?.close();
  });

  it("notifies a background page by each room's level: mentions only by default, all, muted", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Ops");
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      await acceptInvitation(bob.page, room);
      await bob.page.getByRole("combobox", { name: "Notifications" }).waitFor();
      assert.equal(await bob.page.getByRole("combobox", { name: "Notifications" }).inputValue(), "mentions");

      await setHidden(bob.page, true);
      // Mentions only: the chatter is counted in the title, only the mention notifies.
      await sendMessage(alice.page, "routine chatter");
      await titleIs(bob.page, "(1) Parley");
      await sendMessage(alice.page, `@${bob.username} please look`);
      const [mention, ...more] = await waitForShown(bob.page, 1);
      assert.deepEqual(more, []);
      // Previews are off by default: who and where, not what.
      assert.deepEqual(mention, {
        title: `${alice.username} in ${room}`,
        body: "mentioned you",
        tag: mention?.tag,
      });
      await titleIs(bob.page, "(2) Parley");

      // All messages: every line notifies, even in the conversation that is open behind.
      await setLevel(bob.page, "All messages");
      await sendMessage(alice.page, "now everything rings");
      const afterAll = await waitForShown(bob.page, 2);
      assert.equal(afterAll[1]?.body, "new message");

      // Muted: nothing, not even a mention; the room leaves the title's count. A direct message
      // sent after it does notify, so the muted ones were handled first and stayed silent.
      await setLevel(bob.page, "Muted");
      await sendMessage(alice.page, `@${bob.username} muted mention`);
      await sendMessage(alice.page, "muted chatter");
      await openDirect(alice.page, bob.username);
      await sendMessage(alice.page, "direct ping");
      const afterMute = await waitForShown(bob.page, 3);
      assert.deepEqual(
        afterMute.map((n) => n.title),
        [`${alice.username} in ${room}`, `${alice.username} in ${room}`, alice.username],
      );
      await titleIs(bob.page, "(1) Parley");

      // Clicking the notification opens its conversation.
      await bob.page.evaluate(`window.__last.onclick(new Event("click"))`);
      await conversationHeading(bob.page, alice.username).waitFor();
      await setHidden(bob.page, false);
      await waitForMessage(bob.page, alice.username, "direct ping");
    }));

  it("shows the text only with previews on, and never for the conversation being read", (t) =>
    s.check(t, async () => {
      const before = (await shown(bob.page)).length;
      await openConversation(bob.page, alice.username);
      await sendMessage(alice.page, "read as it arrives");
      await waitForMessage(bob.page, alice.username, "read as it arrives");

      const settings = await openSettings(bob.page);
      await waitForText(settings.getByTestId("notify-permission"), "Notifications: on");
      await settings.getByRole("checkbox", { name: "Show message text in notifications" }).check();
      await closeDialog(settings);
      await setHidden(bob.page, true);
      await sendMessage(alice.page, "the text this time");
      const list = await waitForShown(bob.page, before + 1);
      assert.deepEqual(list.slice(before), [
        { title: alice.username, body: "the text this time", tag: list[before]?.tag },
      ]);
      await setHidden(bob.page, false);
    }));

  it("asks for the permission when the person first sends a message, never on load", (t) =>
    s.check(t, async () => {
      const carol = await newPerson(s, "carol");
      await carol.context.addInitScript(RECORD_NOTIFICATIONS);
      await carol.page.reload();
      await waitForText(carol.page.getByTestId("connection"), "Connected");
      assert.equal(await asked(carol.page), 0);
      const settings = await openSettings(carol.page);
      await waitForText(settings.getByTestId("notify-permission"), "Notifications: not allowed yet");
      await settings.getByRole("button", { name: "Allow notifications" }).waitFor();
      await closeDialog(settings);

      await openDirect(carol.page, alice.username);
      await composer(carol.page).waitFor();
      await sendMessage(carol.page, "hello");
      await until(async () => (await asked(carol.page)) === 1, "the permission asked once");
      await sendMessage(carol.page, "hello again");
      await waitForMessage(carol.page, carol.username, "hello again");
      assert.equal(await asked(carol.page), 1);
    }));
});
