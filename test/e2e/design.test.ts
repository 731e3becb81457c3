import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Locator, Page } from "playwright-core";
import { STRONG_PASSWORD, uniqueName } from "../integration/support/harness.js";
import { newPerson } from "./support/people.js";
import { DESKTOP, E2eSuite, PHONE } from "./support/suite.js";
import {
  acceptInvitation,
  composer,
  createRoom,
  invite,
  messageLog,
  messages,
  openConversation,
  openDirect,
  openSettings,
  peopleEntry,
  register,
  sendMessage,
  signInForm,
  waitForMessage,
} from "./support/ui.js";
import { until } from "./support/wait.js";

// Issue 20 part 3: the design pass. Icons with names, avatars with a stable colour per person,
// no own name on own bubbles, a one-row phone header with one menu, the first message high on a
// phone, a settings form, the Terminal theme's disabled and modal states, and a colour emoji font
// served by Parley itself and fetched only when an emoji is on the screen.

type Box = { x: number; y: number; width: number; height: number };

async function boxOf(locator: Locator, what: string): Promise<Box> {
  const box = await locator.boundingBox();
  assert.ok(box !== null && box.width > 0 && box.height > 0, `${what} is not shown`);
  return box;
}

/** The visible children of the open conversation's header, with their boxes. */
async function headerChildren(page: Page): Promise<{ name: string; box: Box }[]> {
  return page.evaluate<{ name: string; box: Box }[]>(`(() => {
    const header = document.querySelector(".conversation-header");
    return [...header.children]
      .filter((el) => getComputedStyle(el).display !== "none" && el.getBoundingClientRect().width > 0)
      .map((el) => {
        const r = el.getBoundingClientRect();
        return {
          name: el.getAttribute("aria-label") ?? el.className,
          box: { x: r.x, y: r.y, width: r.width, height: r.height },
        };
      });
  })()`);
}

/** The emoji font's files the page has asked for (they are served by Parley, under /assets/). */
function emojiFontRequests(user: { guard: { requests: readonly { url: string }[] } }): string[] {
  return user.guard.requests.map((r) => r.url).filter((u) => /noto-color-emoji-[^/]*\.woff2$/.test(u));
}

/** The computed background colour of the avatar for `userId` inside `scope`. */
function avatarColourIn(scope: Locator, userId: string): Promise<string> {
  return scope
    .locator(`[data-testid="avatar"][data-user-id="${userId}"]`)
    .first()
    .evaluate(
      (el) =>
        (
          globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
        ).getComputedStyle(el).backgroundColor,
    );
}

function userIdOf(page: Page, username: string): Promise<string> {
  return messageLog(page)
    .locator(`[data-testid="message"][data-from="${username}"]`)
    .first()
    .evaluate((el) => (el as { dataset: Record<string, string | undefined> }).dataset.fromId ?? "");
}

/** In the page: whether a face of Parley's emoji font has loaded. */
const EMOJI_FONT_LOADED = `[...document.fonts].some((f) => f.family.replace(/"/g, "") === "Parley Emoji" && f.status === "loaded")`;

/**
 * In the page, for the composer's Send button: the WCAG contrast ratio between the colour it
 * paints (its background at its opacity, over the composer) and the composer's background, that
 * is how much it stands out from what is around it.
 */
const SEND_CONTRAST = `(() => {
  const el = document.querySelector(".composer button.send");
  const rgb = (c) => (c.match(/[\\d.]+/g) ?? []).map(Number);
  const lum = (c) => {
    const f = (v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const style = getComputedStyle(el);
  const under = rgb(getComputedStyle(el.closest(".composer")).backgroundColor);
  const [r, g, b, a = 1] = rgb(style.backgroundColor);
  const k = a * Number(style.opacity);
  const over = [r, g, b].map((v, i) => v * k + under[i] * (1 - k));
  const [hi, lo] = [lum(over), lum(under)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
})()`;

describe("design: icons, avatars, phone header, themes and emoji", () => {
  let s: E2eSuite;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
  });
  after(async () => {
    await s?.close();
  });

  it("on a phone: one-row header with one menu, the first message in the top third, no own name", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice", { viewport: PHONE });
      const bob = await newPerson(s, "bob");
      const room = uniqueName("Design");
      await createRoom(alice.page, room);
      // The room's actions are in one menu on the phone, under the same names as on a desktop.
      const menu = alice.page.getByRole("button", { name: "Room menu" });
      assert.equal(await alice.page.getByRole("button", { name: "Invite", exact: true }).isVisible(), false);
      await menu.click();
      assert.equal(await menu.getAttribute("aria-expanded"), "true");
      for (const name of [/^Members \(1\)$/, /^Invite$/, /^Room settings$/, /^Leave$/])
        await alice.page.getByRole("button", { name }).waitFor();
      await alice.page.getByRole("combobox", { name: "Disappearing messages" }).waitFor();
      await s.screenshot(alice, "phone-room-menu");
      await alice.page.keyboard.press("Escape");
      await alice.page.getByRole("button", { name: "Invite", exact: true }).waitFor({ state: "hidden" });
      assert.equal(await menu.getAttribute("aria-expanded"), "false");
      await menu.click();
      await invite(alice.page, bob.username); // the menu item opens the dialog; the menu folds
      await acceptInvitation(bob.page, room);

      await sendMessage(bob.page, "Hello from the desktop");
      await waitForMessage(alice.page, bob.username, "Hello from the desktop");
      await sendMessage(alice.page, "Hello from the phone");
      const own = await waitForMessage(alice.page, alice.username, "Hello from the phone");

      // One row: every visible part of the header overlaps the back button's line.
      const parts = await headerChildren(alice.page);
      const back = parts.find((p) => p.name === "Back to conversations");
      assert.ok(back !== undefined, `no back button in the header: ${JSON.stringify(parts)}`);
      for (const p of parts)
        assert.ok(
          p.box.y < back.box.y + back.box.height && p.box.y + p.box.height > back.box.y,
          `${p.name} is not on the header's one row: ${JSON.stringify(parts)}`,
        );
      for (const name of ["Back to conversations", "Room menu"])
        assert.ok(
          parts.some((p) => p.name === name),
          `${name} is missing from the header`,
        );
      assert.ok(
        parts.some((p) => p.name.startsWith("Encryption: ")),
        "the lock is in the header",
      );

      // The first message starts in the top third of the screen.
      const first = await boxOf(messageLog(alice.page).getByTestId("message").first(), "the first message");
      assert.ok(first.y < PHONE.height / 3, `the first message starts at ${first.y} of ${PHONE.height}`);

      // Own bubbles carry no own name; others' carry their name and avatar.
      assert.equal(await own.locator(".sender").count(), 0, "own name on an own bubble");
      assert.ok(
        !((await own.textContent()) ?? "").includes(alice.username),
        "own name written on an own bubble",
      );
      assert.equal(await own.getByTestId("avatar").count(), 0, "own avatar on an own bubble");
      const theirs = messages(alice.page, bob.username, "Hello from the desktop").last();
      assert.equal(await theirs.locator(".sender").textContent(), bob.username);
      assert.equal(await theirs.getByTestId("avatar").textContent(), "B");

      // The own name is in the phone's top bar.
      assert.ok(await alice.page.getByTestId("me").isVisible(), "the top bar drops the own name");
      await s.screenshot(alice, "phone-conversation");
      await alice.close();
      await bob.close();
    }));

  it("gives each person initials and one colour everywhere, on both browsers", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice");
      const bob = await newPerson(s, "bob", { viewport: PHONE });
      const room = uniqueName("Colours");
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      await acceptInvitation(bob.page, room);
      await sendMessage(bob.page, "Colour check");
      await waitForMessage(alice.page, bob.username, "Colour check");
      const bobId = await userIdOf(alice.page, bob.username);
      assert.match(bobId, /\S/);

      // Alice's page: beside the message, in the member list, in People.
      const inMessage = await avatarColourIn(messageLog(alice.page), bobId);
      const members = alice.page.getByRole("list", { name: "Members" });
      await members.locator(`li[data-user="${bob.username}"]`).waitFor();
      const inMembers = await avatarColourIn(members, bobId);
      const inPeople = await avatarColourIn(peopleEntry(alice.page, bob.username), bobId);
      assert.equal(inMembers, inMessage, "another colour in the member list");
      assert.equal(inPeople, inMessage, "another colour in People");
      assert.match(inMessage, /^rgb\(/);
      assert.equal(
        await peopleEntry(alice.page, bob.username).getByTestId("avatar").textContent(),
        bob.username[0]?.toUpperCase(),
      );

      // Bob's own browser paints him in the same colour (in Alice's member list as seen by Bob).
      await bob.page.getByRole("button", { name: "Room menu" }).click();
      await bob.page.getByRole("button", { name: /^Members \(2\)$/ }).click();
      const bobMembers = bob.page.getByRole("list", { name: "Members" });
      assert.equal(await avatarColourIn(bobMembers, bobId), inMessage, "another colour on Bob's browser");

      // The top bar shows one's own avatar too, with one's initial.
      const mine = alice.page.locator('.topbar [data-testid="avatar"]');
      assert.equal(await mine.textContent(), alice.username[0]?.toUpperCase());
      await s.screenshot(alice, "desktop-avatars");
      await alice.close();
      await bob.close();
    }));

  it("names every icon button and shows a visible focus ring", (t) =>
    s.check(t, async () => {
      for (const viewport of [DESKTOP, PHONE]) {
        const size = `${viewport.width}x${viewport.height}`;
        const user = await newPerson(s, `icons-${viewport.width}`, { viewport });
        await createRoom(user.page, uniqueName("Icons"));
        // Every button has a name, whether it shows text or only an icon.
        const unnamed = await user.page.evaluate<string[]>(`(() => {
          const out = [];
          for (const b of document.querySelectorAll("button")) {
            const name = (b.getAttribute("aria-label") ?? b.textContent ?? "").trim();
            if (name === "") out.push(b.outerHTML.slice(0, 120));
          }
          return out;
        })()`);
        assert.deepEqual(unnamed, [], `${size}: buttons without a name`);
        for (const name of ["Settings", "Send", "Emoji"])
          await user.page.getByRole("button", { name, exact: true }).waitFor();
        const icons = await user.page.locator("button svg.lucide").count();
        assert.ok(icons >= 5, `${size}: only ${icons} icons in buttons`);
        // The composer's attach and voice-note buttons are lucide icons with names, and no
        // button in the chat screen (header, sidebar actions, room header, composer) is text only.
        for (const name of ["Attach files", "Record a voice note"])
          await user.page.getByRole("button", { name, exact: true }).locator("svg.lucide").waitFor();
        const textOnly = (scope: string) =>
          user.page.evaluate<string[]>(`[...document.querySelectorAll(${JSON.stringify(scope)})]
            .filter((b) => b.getBoundingClientRect().width > 0 && !b.querySelector("svg.lucide, .avatar"))
            .map((b) => (b.getAttribute("aria-label") ?? b.textContent ?? "").trim())`);
        assert.deepEqual(
          await textOnly(
            ".topbar button, .sidebar-actions button, .conversation-header button, .composer-row button",
          ),
          [],
          `${size}: text-only buttons in the chat screen`,
        );
        // Settings: its Sign out and Close have icons too.
        const settings = await openSettings(user.page);
        for (const name of ["Sign out", "Close"])
          await settings.getByRole("button", { name, exact: true }).locator("svg.lucide").waitFor();
        await settings.getByRole("button", { name: "Close", exact: true }).click();
        await settings.waitFor({ state: "hidden" });

        // Keyboard focus is drawn.
        await composer(user.page).focus();
        await user.page.keyboard.press("Shift+Tab");
        const outline = await user.page.evaluate<string>(
          "getComputedStyle(document.activeElement).outlineStyle",
        );
        assert.notEqual(outline, "none", `${size}: the focused control has no outline`);
        await s.screenshot(user, `icons-${size}`);
        await user.close();
      }
    }));

  it("lays Settings out as a form of groups", (t) =>
    s.check(t, async () => {
      for (const viewport of [DESKTOP, PHONE]) {
        const user = await s.newUser(`settings-${viewport.width}`, { viewport });
        await register(user.page, uniqueName("settings"), STRONG_PASSWORD);
        const dialog = await openSettings(user.page);
        for (const name of ["Appearance", "Privacy", "Sign out"])
          await dialog.getByRole("group", { name }).waitFor();
        // The checkbox's row keeps clear of the menus above it.
        const select = await boxOf(
          dialog.getByRole("combobox", { name: "History on this device" }),
          "history",
        );
        const check = await boxOf(dialog.getByRole("checkbox", { name: "Send read receipts" }), "checkbox");
        assert.ok(check.y >= select.y + select.height, "the checkbox overlaps the menu above it");
        const theme = await boxOf(dialog.getByRole("combobox", { name: "Theme" }), "theme");
        assert.ok(select.y >= theme.y + theme.height, "the history menu overlaps the theme menu");
        await s.screenshot(user, `settings-${viewport.width}x${viewport.height}`);
        await user.close();
      }
    }));

  it("in the Terminal theme: a dimmed disabled Send, a dark backdrop, the last message in view", (t) =>
    s.check(t, async () => {
      const user = await newPerson(s, "terminal", { viewport: PHONE });
      const { page } = user;
      await createRoom(page, uniqueName("Green"));
      for (let i = 1; i <= 12; i++)
        await sendMessage(page, `Line ${i} of a conversation long enough to scroll`);
      const last = await waitForMessage(page, user.username, "Line 12 of");
      const settings = await openSettings(page);
      await settings.getByRole("combobox", { name: "Theme" }).selectOption({ label: "Terminal" });
      await until(
        async () => (await page.evaluate<string>("document.documentElement.dataset.theme")) === "terminal",
        "the terminal theme",
      );
      // The backdrop dims the page: mostly opaque black.
      const alpha = await page.evaluate<number>(`(() => {
        const bg = getComputedStyle(document.querySelector("dialog[open]"), "::backdrop").backgroundColor;
        const m = bg.match(/rgba?\\(([^)]+)\\)/);
        const parts = m ? m[1].split(/[ ,/]+/).filter(Boolean) : [];
        return parts.length === 4 ? Number(parts[3]) : 1;
      })()`);
      assert.ok(alpha >= 0.75, `the modal backdrop is only ${alpha} opaque`);
      await s.screenshot(user, "terminal-dialog");
      await page.keyboard.press("Escape");
      await settings.waitFor({ state: "hidden" });

      // The last message is still wholly in view above the composer after the font changed.
      const log = await boxOf(messageLog(page), "the message log");
      await until(async () => {
        const b = await last.boundingBox();
        return b !== null && b.y + b.height <= log.y + log.height + 1;
      }, "the last message in view after the theme switch");

      // Disabled Send (nothing typed) stands out less from the composer than enabled Send.
      const send = page.getByRole("button", { name: "Send", exact: true });
      const contrast = () => page.evaluate<number>(SEND_CONTRAST);
      assert.equal(await send.isDisabled(), true);
      const disabled = await contrast();
      await composer(page).fill("something to send");
      await until(async () => !(await send.isDisabled()), "Send enabled");
      const enabled = await contrast();
      assert.ok(
        disabled * 2 < enabled,
        `disabled Send (${disabled.toFixed(2)}:1) is not dimmer than enabled (${enabled.toFixed(2)}:1)`,
      );
      await s.screenshot(user, "terminal-conversation");
      await user.close();
    }));

  it("serves a colour emoji font from Parley, fetched only once an emoji is shown", (t) =>
    s.check(t, async () => {
      const user = await s.newUser("emoji", { viewport: DESKTOP });
      await signInForm(user.page).waitFor();
      assert.deepEqual(emojiFontRequests(user), [], "the sign-in screen fetched the emoji font");
      const name = uniqueName("emoji");
      await register(user.page, name, STRONG_PASSWORD);
      await createRoom(user.page, uniqueName("Party"));
      await sendMessage(user.page, "No emoji here yet.");
      await waitForMessage(user.page, name, "No emoji here yet.");
      assert.deepEqual(emojiFontRequests(user), [], "a conversation without emoji fetched the emoji font");

      await sendMessage(user.page, "Launch 🚀 party 🎉");
      await waitForMessage(user.page, name, "Launch");
      await until(async () => emojiFontRequests(user).length > 0, "the emoji font fetched");
      for (const url of emojiFontRequests(user))
        assert.equal(new URL(url).origin, new URL(s.url).origin, `the font came from elsewhere: ${url}`);
      // The face is loaded and draws the emoji (not the system's, nor an empty box).
      await until(() => user.page.evaluate<boolean>(EMOJI_FONT_LOADED), "the Parley Emoji face loaded");
      // The font has a face for the emoji, and it loads from Parley.
      const faces = await user.page.evaluate<string[]>(
        `document.fonts.load('16px "Parley Emoji"', "🚀").then((fs) => fs.map((f) => f.status))`,
      );
      assert.ok(faces.length > 0 && faces.every((f) => f === "loaded"), `faces for 🚀: ${faces.join(", ")}`);
      // Only the subsets with these emoji were fetched, not the whole font.
      const subsets = await user.page.evaluate<number>(
        `[...document.fonts].filter((f) => f.family.replace(/"/g, "") === "Parley Emoji").length`,
      );
      const fetched = new Set(emojiFontRequests(user)).size;
      assert.ok(fetched < subsets / 2, `fetched ${fetched} of the font's ${subsets} parts`);
      await s.screenshot(user, "emoji-message");
      await user.close();
    }));

  it("moves nothing on a phone when a message with emoji arrives and its font loads", (t) =>
    s.check(t, async () => {
      const reader = await newPerson(s, "reader", { viewport: PHONE });
      const writer = await newPerson(s, "writer");
      await openDirect(writer.page, reader.username);
      await sendMessage(writer.page, "First, plain.");
      await openConversation(reader.page, writer.username);
      const first = await waitForMessage(reader.page, writer.username, "First, plain.");
      // The Layout Instability API: every shift of visible content not caused by the user's input.
      await reader.page.evaluate(
        "window.__shifts = []; new PerformanceObserver((list) => { for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shifts.push(e.value); }).observe({ type: 'layout-shift' })",
      );
      const at = () =>
        first.evaluate((el) =>
          JSON.stringify((el as { getBoundingClientRect(): unknown }).getBoundingClientRect()),
        );
      const before = await at();
      await sendMessage(writer.page, "Waving 👋 and cheering 🎉 now");
      await waitForMessage(reader.page, writer.username, "Waving");
      await until(() => reader.page.evaluate<boolean>(EMOJI_FONT_LOADED), "the emoji font loaded");
      // Two frames later, the first message is where it was, and nothing shifted.
      await reader.page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
      assert.equal(await at(), before, "the first message moved");
      assert.deepEqual(await reader.page.evaluate("window.__shifts"), []);
      await s.screenshot(reader, "phone-emoji");
      await reader.close();
      await writer.close();
    }));
});
