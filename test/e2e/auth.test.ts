import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { InfoResponse } from "@parley/protocol";
import { registerUser, request, STRONG_PASSWORD, uniqueName } from "../integration/support/harness.js";
import { E2eSuite, type E2eUser } from "./support/suite.js";
import {
  gotoRoute,
  registerForm,
  signIn,
  signInForm,
  signOut,
  submitRegistration,
  submitSignIn,
  waitForSignedIn,
} from "./support/ui.js";
import { until, waitForText } from "./support/wait.js";

// Issue 4, "Landing / sign-in / register": the live password checklist, readable errors for a
// taken name, a policy failure, a wrong password and an IDS block, sign-out, and the trust page.

describe("register and sign in", () => {
  let s: E2eSuite;
  let visitor: E2eUser;
  before(async () => {
    // Every registration here comes from 127.0.0.1: lift the per-IP auth rate limit.
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    visitor = await s.newUser("visitor");
  });
  after(async () => {
    await s?.close();
  });

  it("shows the password rules as a live checklist that flips as the password is typed", (t) =>
    s.check(t, async () => {
      const { page } = visitor;
      const username = uniqueName("reg");
      await gotoRoute(page, "register");
      const form = registerForm(page);
      const items = form.getByRole("list", { name: "Password requirements" }).getByRole("listitem");
      const metCount = async () => form.locator('li[data-met="true"]').count();
      await form.getByRole("textbox", { name: "Username" }).fill(username);
      await until(async () => (await items.count()) >= 3, "the checklist's items");
      const total = await items.count();
      for (let i = 0; i < total; i++) {
        assert.match((await items.nth(i).getAttribute("data-met")) ?? "", /^(true|false)$/);
      }
      assert.equal(await metCount(), 0, "nothing is met before anything is typed");

      const password = form.getByLabel("Password", { exact: true });
      // Long enough, but no uppercase letter and no special character.
      await password.pressSequentially("quietharbourlamp");
      const partial = await until(async () => {
        const n = await metCount();
        return n > 0 && n < total - 1 ? n : false;
      }, "some rules met, others not");

      await password.fill("");
      await password.pressSequentially(STRONG_PASSWORD);
      // Every rule of the policy is met; only "both passwords match" is still open.
      await until(async () => (await metCount()) === total - 1, "all rules but the confirmation met");
      assert.ok(total - 1 > partial);
      await form.getByLabel("Confirm password", { exact: true }).pressSequentially(STRONG_PASSWORD);
      await until(async () => (await metCount()) === total, "every item met");

      await form.getByRole("button", { name: "Create account" }).click();
      await waitForSignedIn(page, username);
      await signOut(page);
    }));

  it("says a taken username is taken", (t) =>
    s.check(t, async () => {
      const { page } = visitor;
      const username = uniqueName("taken");
      await registerUser(s.server, username);
      await submitRegistration(page, username, STRONG_PASSWORD);
      await waitForText(registerForm(page).getByRole("alert"), /That username is taken\./);
      assert.equal(await page.getByTestId("me").count(), 0, "not signed in");
    }));

  it("explains which rule of the server's password policy a password breaks", (t) =>
    s.check(t, async () => {
      const { page } = visitor;
      // Long enough and with an uppercase letter, but no special character.
      await submitRegistration(page, uniqueName("weak"), "Quietharbourlamp7");
      await waitForText(registerForm(page).getByRole("alert"), /special character/);
      assert.equal(await page.getByTestId("me").count(), 0, "not signed in");
    }));

  it("refuses a wrong password, signs in with the right one and signs out", (t) =>
    s.check(t, async () => {
      const { page } = visitor;
      const username = uniqueName("login");
      await registerUser(s.server, username);
      await submitSignIn(page, username, "Wrong-Harbour-Lamp-8");
      await waitForText(signInForm(page).getByRole("alert"), "Wrong username or password.");
      assert.equal(await page.getByTestId("me").count(), 0, "not signed in");

      await signIn(page, username, STRONG_PASSWORD);
      await signOut(page);
      await page.reload();
      await signInForm(page).waitFor();
      assert.equal(await page.getByTestId("me").count(), 0, "still signed out after a reload");
    }));

  it("signs in with the keyboard alone", (t) =>
    s.check(t, async () => {
      const { page } = visitor;
      const username = uniqueName("keys");
      await registerUser(s.server, username);
      await gotoRoute(page, "signin");
      await signInForm(page).waitFor();
      const focused = () => page.evaluate<string>("document.activeElement?.getAttribute('name') ?? ''");
      await until(async () => {
        if ((await focused()) === "username") return true;
        await page.keyboard.press("Tab");
        return false;
      }, "Tab to reach the Username field");
      await page.keyboard.type(username);
      await page.keyboard.press("Tab");
      assert.equal(await focused(), "password");
      await page.keyboard.type(STRONG_PASSWORD);
      await page.keyboard.press("Enter");
      await waitForSignedIn(page, username);
      await signOut(page);
    }));

  it("shows on the trust page the CA fingerprint that /api/info reports", (t) =>
    s.check(t, async () => {
      const { page } = visitor;
      await gotoRoute(page, "signin");
      await page.getByRole("link", { name: "Trust this server on your phone" }).click();
      await page.getByRole("heading", { name: "Trust this server" }).waitFor();
      const info = await request<InfoResponse>(s.server, "GET", "/api/info");
      assert.equal(info.status, 200);
      assert.ok(info.body.caFingerprint, "the server has a local CA");
      assert.equal(info.body.caFingerprint, new X509Certificate(s.server.ca ?? "").fingerprint256);
      await waitForText(page.getByTestId("ca-fingerprint"), info.body.caFingerprint);
      // On a narrow phone the fingerprint wraps, and only between bytes: both hex digits of every
      // byte are on the same line.
      const size = page.viewportSize();
      await page.setViewportSize({ width: 300, height: 640 });
      try {
        // The rendered lines of the element's text, read character by character (as a string:
        // the tests are compiled without the DOM's types).
        const lines = (await page.evaluate(`(() => {
          const el = document.querySelector('[data-testid="ca-fingerprint"]');
          const out = [];
          let top;
          const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
            const text = node.textContent ?? "";
            for (let i = 0; i < text.length; i++) {
              const range = document.createRange();
              range.setStart(node, i);
              range.setEnd(node, i + 1);
              const y = Math.round(range.getBoundingClientRect().top);
              if (top === undefined || Math.abs(y - top) > 2) out.push("");
              top = y;
              out[out.length - 1] += text[i];
            }
          }
          return out;
        })()`)) as string[];
        assert.ok(lines.length >= 2, `wrapped at 300 px: ${JSON.stringify(lines)}`);
        assert.equal(lines.join(""), info.body.caFingerprint);
        for (const line of lines) assert.match(line, /^([0-9A-F]{2}:)*[0-9A-F]{2}:?$/, JSON.stringify(lines));
      } finally {
        if (size) await page.setViewportSize(size);
      }
      const download = page.getByRole("link", { name: "Download the CA certificate" });
      assert.equal(new URL((await download.getAttribute("href")) ?? "", s.url).pathname, "/ca.crt");
      await page.getByRole("link", { name: "Back to sign in" }).click();
      await signInForm(page).waitFor();
    }));
});

describe("intrusion detection", () => {
  let s: E2eSuite;
  before(async () => {
    // Its own server: the block covers 127.0.0.1, which every browser here signs in from.
    s = await E2eSuite.start(import.meta.url, {
      bruteForceMaxFailures: 3,
      bruteForceBlockS: 300,
      accountFreeFailures: 1_000,
      authRatePerMin: 10_000,
    });
  });
  after(async () => {
    await s?.close();
  });

  it("tells the user this address is blocked and for how long, and refuses even the right password", (t) =>
    s.check(t, async () => {
      const { page } = await s.newUser("guesser");
      const username = uniqueName("ids");
      await registerUser(s.server, username);
      const alert = signInForm(page).getByRole("alert");
      // The same alert text after every try: count the server's answers to know each one arrived.
      const refused = () => s.server.logs.join("").match(/"path":"\/api\/login","status":401/g)?.length ?? 0;
      for (let i = 1; i <= 3; i++) {
        await submitSignIn(page, username, `Wrong-Guess-${i}-Lamp!`);
        await until(async () => refused() >= i, `refused login ${i}`);
        await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
        await waitForText(alert, "Wrong username or password.");
      }
      await submitSignIn(page, username, STRONG_PASSWORD);
      await waitForText(alert, "Too many failed attempts from this address. Try again in 5 min.");
      assert.equal(await page.getByTestId("me").count(), 0, "not signed in");
    }));
});

describe("rate limit", () => {
  let s: E2eSuite;
  before(async () => {
    // One register/login request per minute from an address: the account's own registration uses it.
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 1 });
  });
  after(async () => {
    await s?.close();
  });

  it("asks the user to slow down, with the seconds to wait", (t) =>
    s.check(t, async () => {
      const { page } = await s.newUser("hurried");
      const username = uniqueName("rate");
      await registerUser(s.server, username);
      await submitSignIn(page, username, STRONG_PASSWORD);
      const text = await waitForText(
        signInForm(page).getByRole("alert"),
        /^Slow down: try again in \d+ s\.$/,
      );
      const seconds = Number(/(\d+) s\./.exec(text)?.[1]);
      assert.ok(seconds >= 1 && seconds <= 60, text);
      assert.equal(await page.getByTestId("me").count(), 0, "not signed in");
    }));
});
