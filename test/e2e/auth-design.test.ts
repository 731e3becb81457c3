import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Locator, Page } from "playwright-core";
import { registerUser, STRONG_PASSWORD, uniqueName } from "../integration/support/harness.js";
import { linkScreen } from "./support/linking.js";
import { newPerson, type Person } from "./support/people.js";
import { DESKTOP, E2eSuite, type E2eUser, PHONE } from "./support/suite.js";
import { registerForm, signInForm, submitSignIn } from "./support/ui.js";
import { until, waitForText } from "./support/wait.js";

// Issue 20 part 3: the pages a person sees before they are in (sign-in, sign-up, reset password,
// link this device), at 1440x900 and 360x740, in Modern light, Modern dark and Terminal: a
// screenshot of each, nothing wider than the screen, 16px inputs and 44px controls on a phone,
// a drawn focus ring, readable heading and labels, and no layout shift as a page loads or as an
// error arrives.

type Viewport = { width: number; height: number };
type Box = { x: number; y: number; width: number; height: number };
/** What the tests read of an element's computed style (they are compiled without the DOM's types). */
type ComputedStyle = { fontSize: string; outlineStyle: string; outlineWidth: string; boxShadow: string };

const THEMES = [
  { name: "modern-light", colorScheme: "light", choice: "system" },
  { name: "modern-dark", colorScheme: "dark", choice: "system" },
  { name: "terminal", colorScheme: "dark", choice: "terminal" },
] as const;
type Theme = (typeof THEMES)[number];

const VIEWPORTS: readonly Viewport[] = [DESKTOP, PHONE];

/**
 * Every layout shift of the document from its start (the Layout Instability API, buffered), with
 * what moved. Installed before the page's own scripts, so a shift while it loads is counted too.
 */
const RECORD_SHIFTS = `
  window.__shifts = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      window.__shifts.push({
        value: e.value,
        at: e.startTime,
        input: e.hadRecentInput,
        moved: (e.sources ?? []).map((s) => s.node ? s.node.nodeName + "." + (s.node.className?.baseVal ?? s.node.className ?? "") : "?"),
      });
  }).observe({ type: "layout-shift", buffered: true });
`;

type Shift = { value: number; at: number; input: boolean; moved: string[] };

/** The shifts recorded after `since` (ms on the page's clock), once two frames have been drawn. */
async function shiftsSince(page: Page, since: number): Promise<{ sum: number; shifts: Shift[] }> {
  await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
  const shifts = (await page.evaluate<Shift[]>("window.__shifts")).filter((s) => s.at >= since);
  return { sum: shifts.reduce((n, s) => n + s.value, 0), shifts };
}

const pageClock = (page: Page) => page.evaluate<number>("performance.now()");

/**
 * In the page: the WCAG contrast ratio of the card's heading and of each label against the card,
 * from their computed colours (a translucent text colour is blended over the card first).
 */
const CARD_CONTRAST = `(() => {
  const card = document.querySelector("main.auth > .card");
  const rgb = (c) => (c.match(/[\\d.]+/g) ?? []).map(Number);
  const lum = (c) => {
    const f = (v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const bg = rgb(getComputedStyle(card).backgroundColor);
  const out = [{ what: "card background alpha", ratio: bg[3] ?? 1 }];
  for (const el of card.querySelectorAll("h2, label")) {
    const [r, g, b, a = 1] = rgb(getComputedStyle(el).color);
    const text = [r, g, b].map((v, i) => v * a + bg[i] * (1 - a));
    const [hi, lo] = [lum(text), lum(bg)].sort((x, y) => y - x);
    const what = el.tagName + " " + (el.firstChild?.textContent ?? "").trim();
    out.push({ what, ratio: (hi + 0.05) / (lo + 0.05) });
  }
  return out;
})()`;

async function boxOf(locator: Locator, what: string): Promise<Box> {
  const box = await locator.boundingBox();
  assert.ok(box !== null && box.width > 0 && box.height > 0, `${what} is not shown`);
  return box;
}

/**
 * A fresh browser in `theme` at `viewport`, recording layout shifts from every page's start. It
 * starts on about:blank: the first real page is `load()`'s, and the theme choice is in storage
 * before the page's own scripts read it (set on each load, as a person's stored choice would be).
 */
async function openIn(s: E2eSuite, label: string, viewport: Viewport, theme: Theme): Promise<E2eUser> {
  const user = await s.newUser(`${label}-${theme.name}-${viewport.width}`, { viewport, path: "about:blank" });
  await user.context.addInitScript(RECORD_SHIFTS);
  await user.context.addInitScript(
    `if (location.protocol === "https:") localStorage.setItem("parley-theme", ${JSON.stringify(theme.choice)});`,
  );
  await user.page.emulateMedia({ colorScheme: theme.colorScheme });
  return user;
}

/** A full load of `path` (not a same-document hash change), settled: nothing left to fetch. */
async function load(s: E2eSuite, page: Page, path: string, theme: Theme): Promise<void> {
  await page.goto("about:blank");
  await page.goto(new URL(path, s.url).href);
  await page.waitForLoadState("networkidle");
  assert.equal(await page.evaluate<string>("document.documentElement.dataset.theme"), theme.name);
}

/**
 * What every page before sign-in must hold, whatever the screen and theme: nothing sideways, the
 * primary button and every input on screen (on a phone, 44px high and inputs in 16px type), a
 * drawn focus ring on the focused input, the heading and labels at 4.5:1 against the card.
 */
async function assertPageHolds(
  page: Page,
  where: string,
  scope: Locator,
  primary: Locator,
  viewport: Viewport,
) {
  const overflow = await page.evaluate<{ scroll: number; inner: number }>(
    "({ scroll: document.documentElement.scrollWidth, inner: innerWidth })",
  );
  assert.ok(overflow.scroll <= overflow.inner, `${where}: ${overflow.scroll}px wide in ${overflow.inner}px`);

  const phone = viewport.width === PHONE.width;
  const inputs = scope.locator("input:visible");
  const count = await inputs.count();
  const controls: [string, Locator][] = [["the primary button", primary]];
  for (let i = 0; i < count; i++)
    controls.push([`input ${(await inputs.nth(i).getAttribute("name")) ?? i}`, inputs.nth(i)]);
  for (const [what, control] of controls) {
    const box = await boxOf(control, `${where}: ${what}`);
    assert.ok(
      box.x >= 0 && box.x + box.width <= viewport.width,
      `${where}: ${what} leaves the screen sideways`,
    );
    if (phone) assert.ok(box.height >= 44, `${where}: ${what} is ${box.height}px high`);
  }
  if (phone) {
    const card = await boxOf(page.locator("main.auth > .card"), `${where}: the card`);
    const right = viewport.width - card.x - card.width;
    assert.ok(
      card.x >= 12 && right >= 12 && card.x <= 24 && right <= 24,
      `${where}: card margins ${card.x}/${right}`,
    );
  }

  for (let i = 0; i < count; i++) {
    const input = inputs.nth(i);
    if (phone) {
      const size = await input.evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): ComputedStyle }).getComputedStyle(el)
            .fontSize,
      );
      assert.ok(Number.parseFloat(size) >= 16, `${where}: an input in ${size} type`);
    }
  }
  if (count > 0) {
    const first = inputs.first();
    await first.focus();
    const ring = await first.evaluate((el) => {
      const style = (
        globalThis as unknown as { getComputedStyle(e: unknown): ComputedStyle }
      ).getComputedStyle(el);
      return { outline: style.outlineStyle, width: style.outlineWidth, shadow: style.boxShadow };
    });
    assert.ok(
      (ring.outline !== "none" && Number.parseFloat(ring.width) >= 2) || ring.shadow !== "none",
      `${where}: no focus ring on the focused input: ${JSON.stringify(ring)}`,
    );
    await first.blur();
  }

  for (const { what, ratio } of await page.evaluate<{ what: string; ratio: number }[]>(CARD_CONTRAST)) {
    if (what === "card background alpha") assert.equal(ratio, 1, `${where}: a see-through card`);
    else assert.ok(ratio >= 4.5, `${where}: ${what} at ${ratio.toFixed(2)}:1 against the card`);
  }
}

async function assertStillOnLoad(page: Page, where: string): Promise<void> {
  const { sum, shifts } = await shiftsSince(page, 0);
  assert.ok(sum < 0.01, `${where}: layout shift ${sum.toFixed(4)} while loading: ${JSON.stringify(shifts)}`);
}

/**
 * Submits `form` with a wrong password and checks what follows: an inline role="alert" error,
 * the button enabled again under its own label, and nothing moved (every shift counted, even those
 * right after the click that the Layout Instability API would excuse as caused by input).
 */
async function wrongPassword(
  page: Page,
  where: string,
  form: Locator,
  button: Locator,
  label: string,
  error: RegExp | string,
) {
  const before = await boxOf(button, `${where}: ${label}`);
  const since = await pageClock(page);
  await button.click();
  await waitForText(form.getByRole("alert"), error);
  await until(async () => !(await button.isDisabled()), `${where}: ${label} enabled again`);
  assert.equal(((await button.textContent()) ?? "").trim(), label);
  const { sum, shifts } = await shiftsSince(page, since);
  assert.ok(
    sum < 0.01,
    `${where}: layout shift ${sum.toFixed(4)} as the error appeared: ${JSON.stringify(shifts)}`,
  );
  assert.deepEqual(await boxOf(button, `${where}: ${label}`), before, `${where}: ${label} moved`);
}

describe("the pages before sign-in: design, in every theme and on a phone", () => {
  let s: E2eSuite;
  let owner: Person;
  /** An account (no device yet) whose password the sign-in pages get wrong. */
  let signer: string;
  before(async () => {
    // Many wrong passwords from 127.0.0.1 on purpose: lift the rate limit and the IDS block.
    s = await E2eSuite.start(import.meta.url, {
      authRatePerMin: 10_000,
      bruteForceMaxFailures: 10_000,
      accountFreeFailures: 10_000,
    });
    // A person with an identity on one browser: any other browser must be linked.
    owner = await newPerson(s, "owner");
    await owner.close();
    signer = uniqueName("design");
    await registerUser(s.server, signer);
  });
  after(async () => {
    await s?.close();
  });

  for (const viewport of VIEWPORTS) {
    for (const theme of THEMES) {
      const size = `${viewport.width}x${viewport.height}`;

      it(`sign-in, sign-up and reset password at ${size} in ${theme.name}`, (t) =>
        s.check(t, async () => {
          const user = await openIn(s, "public", viewport, theme);
          const { page } = user;

          // Sign in: the button is on the first screen, with no scrolling.
          await load(s, page, "/#/signin", theme);
          const signIn = signInForm(page);
          const signInButton = signIn.getByRole("button", { name: "Sign in", exact: true });
          await assertPageHolds(page, `sign-in ${size} ${theme.name}`, signIn, signInButton, viewport);
          const button = await boxOf(signInButton, "Sign in");
          assert.ok(button.y + button.height <= viewport.height, `Sign in is below the fold at ${size}`);
          await assertStillOnLoad(page, `sign-in ${size} ${theme.name}`);
          await s.screenshot(user, `sign-in-${theme.name}-${size}`);
          await signIn.getByRole("textbox", { name: "Username" }).fill(signer);
          await signIn.getByLabel("Password", { exact: true }).fill("Wrong-Harbour-Lamp-8");
          await wrongPassword(
            page,
            `sign-in ${size} ${theme.name}`,
            signIn,
            signInButton,
            "Sign in",
            "Wrong username or password.",
          );
          await s.screenshot(user, `sign-in-error-${theme.name}-${size}`);

          // Sign up: the rules' list takes its room before the policy and the checker arrive.
          await load(s, page, "/#/register", theme);
          const register = registerForm(page);
          await register.getByRole("list", { name: "Password requirements" }).waitFor();
          await assertPageHolds(
            page,
            `sign-up ${size} ${theme.name}`,
            register,
            register.getByRole("button", { name: "Create account" }),
            viewport,
          );
          await assertStillOnLoad(page, `sign-up ${size} ${theme.name}`);
          await register.getByLabel("Password", { exact: true }).fill("quietharbourlamp");
          await s.screenshot(user, `sign-up-${theme.name}-${size}`);

          // Reset password.
          await load(s, page, "/#/reset", theme);
          const reset = page.getByRole("form", { name: "Reset password" });
          const resetButton = reset.getByRole("button", { name: "Set new password" });
          await assertPageHolds(page, `reset ${size} ${theme.name}`, reset, resetButton, viewport);
          await assertStillOnLoad(page, `reset ${size} ${theme.name}`);
          await s.screenshot(user, `reset-password-${theme.name}-${size}`);
          await user.close();
        }));

      it(`link this device at ${size} in ${theme.name}`, (t) =>
        s.check(t, async () => {
          const user = await openIn(s, "link", viewport, theme);
          const { page } = user;
          await load(s, page, "/#/signin", theme);
          await submitSignIn(page, owner.username, owner.password);
          const screen = linkScreen(page);
          await screen.waitFor();
          const shown = await pageClock(page);
          const where = `link ${size} ${theme.name}`;
          await assertPageHolds(
            page,
            where,
            screen,
            screen.getByRole("button", { name: "Link this device" }),
            viewport,
          );
          const { sum, shifts } = await shiftsSince(page, shown);
          assert.ok(
            sum < 0.01,
            `${where}: layout shift ${sum.toFixed(4)} once shown: ${JSON.stringify(shifts)}`,
          );
          await s.screenshot(user, `link-device-${theme.name}-${size}`);

          // Resetting the identity asks for the password; a wrong one is refused in place.
          await screen.getByRole("button", { name: "Reset identity" }).click();
          const form = page.getByRole("form", { name: "Reset identity" });
          const submit = form.getByRole("button", { name: "Reset identity" });
          await assertPageHolds(page, `${where} reset`, form, submit, viewport);
          await form.getByLabel("Password", { exact: true }).fill("Wrong-Harbour-Lamp-8");
          await wrongPassword(page, `${where} reset`, form, submit, "Reset identity", /\S/);
          await s.screenshot(user, `link-device-reset-${theme.name}-${size}`);
          await form.getByRole("button", { name: "Cancel" }).click();
          await screen.getByRole("button", { name: "Link this device" }).waitFor();
          await user.close();
        }));
    }
  }

  it("shows the busy button once, drops a second submit, and frees the button after a refusal", (t) =>
    s.check(t, async () => {
      const user = await s.newUser("busy", { viewport: PHONE });
      const { page } = user;
      const username = uniqueName("busy");
      await registerUser(s.server, username);
      // Hold the password check at the server's door until the busy state has been looked at.
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let logins = 0;
      await page.route(/\/api\/login$/, async (route) => {
        logins += 1;
        await held;
        await route.fallback();
      });
      const form = signInForm(page);
      await form.getByRole("textbox", { name: "Username" }).fill(username);
      const password = form.getByLabel("Password", { exact: true });
      await password.fill("Wrong-Harbour-Lamp-8");
      await password.press("Enter");
      const busy = form.getByRole("button", { name: "Signing in…" });
      await busy.waitFor();
      assert.equal(await busy.isDisabled(), true, "the busy button takes clicks");
      await until(async () => logins === 1, "the sign-in request");
      // A second Enter, and a scripted submit that skips the disabled button: neither is sent.
      await password.press("Enter");
      await form.evaluate((f) => (f as { requestSubmit(): void }).requestSubmit());
      release();
      await waitForText(form.getByRole("alert"), "Wrong username or password.");
      const button = form.getByRole("button", { name: "Sign in", exact: true });
      await until(async () => !(await button.isDisabled()), "Sign in enabled again");
      assert.equal(logins, 1, "the form sent the password more than once");
      await user.close();
    }));

  it("names the show-password toggle, flips the field, and fills the right autocomplete", (t) =>
    s.check(t, async () => {
      const user = await s.newUser("fields");
      const { page } = user;
      const autocomplete = async (form: Locator, name: string) =>
        form.locator(`input[name="${name}"]`).getAttribute("autocomplete");

      const signIn = signInForm(page);
      assert.equal(await autocomplete(signIn, "username"), "username");
      assert.equal(await autocomplete(signIn, "password"), "current-password");
      const password = signIn.getByLabel("Password", { exact: true });
      await password.fill("Quiet-Harbour");
      const toggle = signIn.getByRole("button", { name: "Show password", exact: true });
      assert.equal(await toggle.getAttribute("aria-pressed"), "false");
      assert.equal(await password.getAttribute("type"), "password");
      await toggle.click();
      assert.equal(await toggle.getAttribute("aria-pressed"), "true");
      assert.equal(await password.getAttribute("type"), "text");
      assert.equal(await password.inputValue(), "Quiet-Harbour", "the value was lost");
      await toggle.click();
      assert.equal(await password.getAttribute("type"), "password");

      await page.goto(new URL("/#/register", s.url).href);
      const register = registerForm(page);
      assert.equal(await autocomplete(register, "username"), "username");
      assert.equal(await autocomplete(register, "password"), "new-password");
      assert.equal(await autocomplete(register, "confirm"), "new-password");
      // The rules say met or not with an icon, not with colour alone.
      const rules = register.getByRole("list", { name: "Password requirements" });
      await register.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
      await until(async () => (await rules.locator('li[data-met="true"]').count()) >= 3, "rules met");
      for (const [met, icon] of [
        ["true", "lucide-check"],
        ["false", "lucide-circle"],
      ] as const) {
        const items = rules.locator(`li[data-met="${met}"]`);
        const n = await items.count();
        assert.ok(n > 0, `no rule with data-met=${met}`);
        assert.equal(
          await items.locator(`svg.${icon}`).count(),
          n,
          `a rule with data-met=${met} lacks ${icon}`,
        );
      }

      await page.goto(new URL("/#/reset", s.url).href);
      const reset = page.getByRole("form", { name: "Reset password" });
      assert.equal(await autocomplete(reset, "username"), "username");
      assert.equal(await autocomplete(reset, "code"), "one-time-code");
      assert.equal(await autocomplete(reset, "password"), "new-password");
      assert.equal(await autocomplete(reset, "confirm"), "new-password");
      await reset.getByRole("button", { name: "Show new password", exact: true }).waitFor();
      await user.close();
    }));
});
