import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { STRONG_PASSWORD, uniqueName } from "../integration/support/harness.js";
import { newPerson } from "./support/people.js";
import { DESKTOP, E2eSuite, PHONE } from "./support/suite.js";
import {
  composer,
  createRoom,
  gotoRoute,
  openConversation,
  openDirect,
  openSettings,
  register,
  registerForm,
  sendMessage,
  signInForm,
  waitForMessage,
  waitForSignedIn,
} from "./support/ui.js";
import { until, waitForText } from "./support/wait.js";

// Issue 4: "responsive from a 360 px wide phone to a desktop", screenshots as test artifacts,
// the terminal and modern themes, and a page that runs under the server's strict CSP.

/** [scrollWidth, clientWidth] of the document's scrolling element. */
function documentWidths(page: Page): Promise<[number, number]> {
  return page.evaluate<[number, number]>(
    "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]",
  );
}

async function assertNoHorizontalScroll(page: Page, where: string): Promise<void> {
  const [scrollWidth, clientWidth] = await documentWidths(page);
  assert.ok(scrollWidth <= clientWidth, `${where}: scrollWidth ${scrollWidth} > clientWidth ${clientWidth}`);
}

async function assertInViewport(
  page: Page,
  what: string,
  box: { x: number; y: number; width: number; height: number } | null,
) {
  const size = page.viewportSize();
  assert.ok(box !== null && size !== null, `${what} has no box`);
  assert.ok(box.width > 0 && box.height > 0, `${what} is empty`);
  assert.ok(
    box.x >= 0 && box.x + box.width <= size.width + 0.5,
    `${what} sticks out sideways: ${JSON.stringify(box)}`,
  );
  assert.ok(
    box.y >= 0 && box.y + box.height <= size.height + 0.5,
    `${what} is below the fold: ${JSON.stringify(box)}`,
  );
}

describe("layout and themes", () => {
  let s: E2eSuite;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
  });
  after(async () => {
    await s?.close();
  });

  for (const viewport of [PHONE, DESKTOP]) {
    const size = `${viewport.width}x${viewport.height}`;
    it(`fits ${size}: no horizontal scrolling, the composer in view, screenshots saved`, (t) =>
      s.check(t, async () => {
        const user = await s.newUser(`user-${size}`, { viewport });
        const { page } = user;
        const username = signInForm(page).getByRole("textbox", { name: "Username" });
        await username.waitFor();
        assert.ok(await username.isEnabled());
        await assertNoHorizontalScroll(page, `sign-in at ${size}`);
        const shots = [await s.screenshot(user, `signin-${size}`)];

        const name = uniqueName("layout");
        await register(page, name, STRONG_PASSWORD);
        await assertNoHorizontalScroll(page, `main view at ${size}`);
        shots.push(await s.screenshot(user, `main-${size}`));

        await createRoom(page, uniqueName("Room"));
        // Long words and a code block must wrap or scroll inside the message, not the page.
        const long = `https://127.0.0.1/${"averyveryverylongpathsegment".repeat(8)}`;
        await sendMessage(page, "First line of a normal message, with **bold** and `code`.");
        await sendMessage(page, long);
        await sendMessage(page, `\`\`\`\n${"x".repeat(300)}\n\`\`\``);
        await waitForMessage(page, name, "x".repeat(300));
        await waitForMessage(page, name, "averyveryverylongpathsegment");
        await assertNoHorizontalScroll(page, `conversation at ${size}`);
        await assertInViewport(page, "the composer", await composer(page).boundingBox());
        await assertInViewport(
          page,
          "the Send button",
          await page.getByRole("button", { name: "Send" }).boundingBox(),
        );
        shots.push(await s.screenshot(user, `conversation-${size}`));

        for (const path of shots) assert.ok((await stat(path)).size > 0, `${path} is empty`);
        await user.close();
      }));
  }

  it("switches to the Terminal theme, and the choice survives a reload", (t) =>
    s.check(t, async () => {
      const user = await s.newUser("theme");
      const { page } = user;
      const name = uniqueName("theme");
      await register(page, name, STRONG_PASSWORD);
      const look = () =>
        page.evaluate<{ theme: string | undefined; background: string; font: string }>(
          "({ theme: document.documentElement.dataset.theme, background: getComputedStyle(document.body).backgroundColor, font: getComputedStyle(document.body).fontFamily })",
        );
      const before = await look();
      assert.notEqual(before.theme, "terminal");

      const settings = await openSettings(page);
      await settings.getByRole("combobox", { name: "Theme" }).selectOption({ label: "Terminal" });
      const terminal = await until(async () => {
        const l = await look();
        return l.theme === "terminal" ? l : false;
      }, 'data-theme="terminal"');
      assert.notEqual(terminal.background, before.background, "the background did not change");
      assert.match(terminal.font, /mono/i, "the terminal theme is monospace");
      await s.screenshot(user, "theme-terminal");

      await page.reload();
      await waitForSignedIn(page, name);
      assert.equal((await look()).theme, "terminal");
      const again = await openSettings(page);
      assert.equal(await again.getByRole("combobox", { name: "Theme" }).inputValue(), "terminal");
      await user.close();
    }));

  it("does not shift the layout on a phone when messages and typing notices arrive", (t) =>
    s.check(t, async () => {
      const reader = await newPerson(s, "reader", { viewport: PHONE });
      const writer = await newPerson(s, "writer");
      await openDirect(writer.page, reader.username);
      await sendMessage(writer.page, "First.");
      await openConversation(reader.page, writer.username);
      await waitForMessage(reader.page, writer.username, "First.");

      // The Layout Instability API: every shift of visible content not caused by the user's input.
      await reader.page.evaluate(
        "window.__shifts = []; new PerformanceObserver((list) => { for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shifts.push(e.value); }).observe({ type: 'layout-shift' })",
      );
      for (let i = 1; i <= 8; i++) {
        await composer(writer.page).pressSequentially(`Message number ${i}`, { delay: 5 });
        await waitForText(reader.page.getByTestId("typing"), `${writer.username} is typing…`);
        await composer(writer.page).press("Enter");
        await waitForMessage(reader.page, writer.username, `Message number ${i}`);
      }
      await waitForText(reader.page.getByTestId("typing"), "");
      assert.deepEqual(await reader.page.evaluate("window.__shifts"), []);

      // The observer works: content pushed in above the app is a shift it reports.
      await reader.page.evaluate(
        "document.body.prepend(Object.assign(document.createElement('div'), { textContent: 'control' }))",
      );
      await until(
        async () => (await reader.page.evaluate<number[]>("window.__shifts")).length > 0,
        "a control shift",
      );
      await reader.close();
      await writer.close();
    }));

  it("keeps the register form still when the password checker arrives late", (t) =>
    s.check(t, async () => {
      const user = await s.newUser("late-checker");
      const { page } = user;
      // The checker (with its common-password list) is a chunk of its own, loaded by the form:
      // hold it back until the form has been measured.
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let requested = false;
      await page.route(/\/password-policy-[^/]*\.js$/, async (route) => {
        requested = true;
        await held;
        await route.fallback(); // on to the context's network guard
      });
      await gotoRoute(page, "register");
      const form = registerForm(page);
      const rules = form.getByRole("list", { name: "Password requirements" }).getByRole("listitem");
      const button = form.getByRole("button", { name: "Create account" });
      // Every rule is listed, not met yet, before the checker is here.
      await until(async () => requested && (await rules.count()) === 7, "seven requirements listed");
      const before = await button.boundingBox();
      await form.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
      release();
      await until(async () => (await form.locator('li[data-met="true"]').count()) === 6, "six rules met");
      assert.deepEqual(await button.boundingBox(), before, "the button moved when the checker arrived");
      await user.close();
    }));

  it("ran every page of this file without a CSP violation or an uncaught error", (t) =>
    s.check(t, async () => {
      // The pages above are closed by now; their console and errors were recorded while open.
      const user = await s.newUser("csp");
      await signInForm(user.page).waitFor();
      const all = s.users.flatMap((u) => [
        ...u.consoleErrors.filter((m) => /Content.Security.Policy/i.test(m)).map((m) => `${u.label}: ${m}`),
        ...u.pageErrors.map((m) => `${u.label}: ${m}`),
      ]);
      assert.deepEqual(all, []);
    }));
});
