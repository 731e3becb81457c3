import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SessionResponse } from "@parley/protocol";
import { Secret, TOTP } from "otpauth";
import type { Locator, Page } from "playwright-core";
import { asUserId } from "../../packages/server/src/domain/ids.js";
import { newInviteCode } from "../../packages/server/src/domain/tokens.js";
import { login, request, STRONG_PASSWORD, uniqueName } from "../integration/support/harness.js";
import { newPerson, type Person, signedInPerson } from "./support/people.js";
import { DESKTOP, E2eSuite, type E2eUser } from "./support/suite.js";
import {
  conversationButton,
  createRoom,
  openSettings,
  registerForm,
  signIn,
  signInForm,
  signOut,
  waitForSignedIn,
} from "./support/ui.js";
import { until, waitForCount, waitForText } from "./support/wait.js";

// Issue 19 part 1: the browser's admin area, each action against a real server, with an admin
// and a normal user in two browsers; and the recovery-codes button (AUTH-12) in Settings.

const METRICS_TOKEN = "e2e-metrics-token-never-shown-91c2";
const NEW_PASSWORD = "Fresh-Meadow-Lantern-4";

function adminArea(page: Page): Locator {
  return page.getByRole("region", { name: "Admin" });
}

async function openAdmin(page: Page, section: string): Promise<Locator> {
  const area = adminArea(page);
  if (!(await area.isVisible())) await page.getByRole("button", { name: "Admin", exact: true }).click();
  await area
    .getByRole("navigation", { name: "Admin sections" })
    .getByRole("button", { name: section })
    .click();
  const region = area.getByRole("region", { name: section === "Settings" ? "Server settings" : section });
  await region.waitFor();
  return region;
}

function userRow(region: Locator, username: string): Locator {
  return region.locator(`tr[data-user="${username}"]`);
}

/** fetch() from the page itself: what a person who opens the developer tools could send. */
function fetchFromPage(page: Page, path: string, method: string, token: string | null, body?: unknown) {
  return page.evaluate(
    async ({ path, method, token, body }) => {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as { code?: string } | null };
    },
    { path, method, token, body },
  );
}

/**
 * After the server ended a person's sessions: whether the page still shows the app (offline)
 * or the sign-in form, they sign out there and in again.
 */
/** The server ended `person`'s session: their page is back at the sign-in form saying `why`; they sign in again. */
async function signInAgain(person: Person, why: RegExp): Promise<void> {
  await waitForText(signInForm(person.page).getByTestId("signin-notice"), why);
  await signIn(person.page, person.username, person.password);
}

describe("admin area", () => {
  let s: E2eSuite;
  let admin: Person;
  let user: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, {
      authRatePerMin: 10_000,
      bruteForceMaxFailures: 5,
      accountFreeFailures: 1_000_000,
      metricsToken: METRICS_TOKEN,
    });
    // Both at once: each is mostly its own page's key generation. The admin flag is set before
    // the admin's page signs in, which is when the page learns its role.
    [admin, user] = await Promise.all([
      signedInPerson(s, "admin", {
        prepare: (account) => s.server.server.storage.setUserAdmin(asUserId(account.user.id), true),
      }),
      newPerson(s, "user"),
    ]);
  });
  after(async () => {
    await s?.close();
  });

  it("shows the admin link to admins only; the server refuses a normal user's own fetch with 403", (t) =>
    s.check(t, async () => {
      await admin.page.getByRole("button", { name: "Admin", exact: true }).waitFor();
      await waitForCount(user.page.getByRole("button", { name: "Admin", exact: true }), 0);
      const session = await fetchFromPage(user.page, "/api/login", "POST", null, {
        username: user.username,
        password: user.password,
      });
      assert.equal(session.status, 200);
      const token = (session.body as unknown as SessionResponse).accessToken;
      for (const [method, path, body] of [
        ["GET", "/api/admin/users", undefined],
        ["GET", "/api/admin/stats", undefined],
        ["POST", "/api/admin/invites", { maxUses: 5 }],
        [
          "POST",
          `/api/admin/users/${(session.body as unknown as SessionResponse).user.id}/role`,
          { admin: true },
        ],
      ] as const) {
        const res = await fetchFromPage(user.page, path, method, token, body);
        assert.equal(res.status, 403, `${method} ${path}`);
        assert.equal(res.body?.code, "admin_required", `${method} ${path}`);
      }
    }));

  it("finds a user by search, makes them an admin and back", (t) =>
    s.check(t, async () => {
      const users = await openAdmin(admin.page, "Users");
      await users.getByRole("searchbox", { name: "Search users" }).fill(user.username);
      await waitForCount(users.locator("tbody tr"), 1);
      const row = userRow(users, user.username);
      await row.getByRole("button", { name: "Make admin" }).click();
      await waitForText(row.locator("td").nth(1), "admin");
      const asUser = await login(s.server, user.username, user.password);
      const allowed = await request(s.server, "GET", "/api/admin/users", { token: asUser.body.accessToken });
      assert.equal(allowed.status, 200, "the promoted user may use the admin API");
      await row.getByRole("button", { name: "Remove admin" }).click();
      await waitForText(row.locator("td").nth(1), "member");
      const refused = await request(s.server, "GET", "/api/admin/users", { token: asUser.body.accessToken });
      assert.equal(refused.status, 403);
    }));

  it("disables and enables a user", (t) =>
    s.check(t, async () => {
      const users = await openAdmin(admin.page, "Users");
      const row = userRow(users, user.username);
      await row.getByRole("button", { name: "Disable" }).click();
      await waitForText(row.locator("td").nth(2), "disabled");
      const refused = await login(s.server, user.username, user.password);
      assert.equal((refused.body as unknown as { code: string }).code, "account_disabled");
      await row.getByRole("button", { name: "Enable" }).click();
      await waitForText(row.locator("td").nth(2), "active");
      assert.equal((await login(s.server, user.username, user.password)).status, 200);
      // The disable ended the user's browser session, which says so: sign in again.
      await signInAgain(user, /disabled by an admin/);
    }));

  it("signs a user out everywhere: their open page is signed out and says why", (t) =>
    s.check(t, async () => {
      await waitForText(user.page.getByTestId("connection"), "Connected");
      const users = await openAdmin(admin.page, "Users");
      await userRow(users, user.username).getByRole("button", { name: "Sign out everywhere" }).click();
      // ACCT-2: the socket closes with session_ended and the page goes back to the sign-in form.
      await signInAgain(user, /ended .*by an admin/);
    }));

  it("issues a reset code shown once, which then sets a new password", (t) =>
    s.check(t, async () => {
      const users = await openAdmin(admin.page, "Users");
      await userRow(users, user.username).getByRole("button", { name: "Reset code" }).click();
      const dialog = admin.page.getByRole("dialog", { name: `Reset code for ${user.username}` });
      const code = await waitForText(dialog.getByTestId("reset-code"), /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
      await dialog.getByRole("button", { name: "Copy code" }).waitFor();
      await dialog.getByRole("button", { name: "Done" }).click();
      await dialog.waitFor({ state: "hidden" });
      const reset = await request(s.server, "POST", "/api/password/reset", {
        body: { username: user.username, code, newPassword: NEW_PASSWORD },
      });
      assert.ok(reset.status >= 200 && reset.status < 300, reset.text);
      user = Object.assign(user, { password: NEW_PASSWORD });
      // The reset ended every session of the account, the open page's too.
      await signInAgain(user, /session has ended/);
    }));

  it("creates a multi-use invite with its link, lists it and revokes it", (t) =>
    s.check(t, async () => {
      const invites = await openAdmin(admin.page, "Invites");
      const form = invites.getByRole("form", { name: "New invite" });
      await form.getByRole("spinbutton", { name: "Uses" }).fill("3");
      await form.getByRole("spinbutton", { name: "Valid for (hours)" }).fill("5");
      await form.getByRole("button", { name: "Create invite" }).click();
      const shown = invites.getByRole("status", { name: "New invite code" });
      const code = await waitForText(shown.getByTestId("invite-code"), /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
      const link = await waitForText(shown.getByTestId("invite-link"), /#invite=/);
      assert.equal(link, `${new URL(s.url).origin}/#invite=${code}`);
      const rows = invites.locator("tbody tr");
      const row = rows.filter({ hasText: "0 of 3" }).first();
      await waitForText(row.locator("td").nth(5), "active");
      assert.equal(await row.locator("td").first().textContent(), admin.username);
      assert.ok(!(await invites.locator("table").textContent())?.includes(code), "a code in the list");
      await row.getByRole("button", { name: "Revoke" }).click();
      await waitForText(row.locator("td").nth(5), "revoked");
      await waitForText(row.locator("td").nth(4), "0");
    }));

  it("lists a blocked address with its reason and expiry, and lifts the block", (t) =>
    s.check(t, async () => {
      for (let i = 0; i < 5; i++) {
        await request(s.server, "POST", "/api/login", {
          body: { username: `nobody-${i}`, password: "Wrong-Password-1!" },
          localAddress: "127.0.0.2",
        });
      }
      const blocks = await openAdmin(admin.page, "IP blocks");
      await blocks.getByRole("button", { name: "Refresh" }).click();
      const row = blocks.locator('tr[data-ip="127.0.0.2"]');
      await waitForText(row.locator("td").nth(1), "Too many failed sign-ins");
      await waitForText(row.locator("td").nth(2), /\d/);
      await row.getByRole("button", { name: "Lift block" }).click();
      await waitForCount(row, 0);
      const back = await request(s.server, "POST", "/api/login", {
        body: { username: user.username, password: user.password },
        localAddress: "127.0.0.2",
      });
      assert.equal(back.status, 200, back.text);
    }));

  it("lists rooms with size and owner, and deletes one for everyone", (t) =>
    s.check(t, async () => {
      const name = uniqueName("spam");
      const roomId = await createRoom(user.page, name, { isPublic: true });
      const rooms = await openAdmin(admin.page, "Rooms");
      // The list was read when the section opened: open it again to see the new room.
      await openAdmin(admin.page, "Users");
      await openAdmin(admin.page, "Rooms");
      const row = rooms.locator(`tr[data-room="${roomId}"]`);
      await waitForText(row.locator("td").nth(0), name);
      assert.equal(await row.locator("td").nth(2).textContent(), "public");
      assert.equal(await row.locator("td").nth(3).textContent(), "1");
      assert.equal(await row.locator("td").nth(4).textContent(), user.username);
      await row.getByRole("button", { name: "Delete" }).click();
      const dialog = admin.page.getByRole("dialog", { name: `Delete room ${name}?` });
      await dialog.getByRole("button", { name: "Delete room" }).click();
      await waitForCount(row, 0);
      await waitForCount(conversationButton(user.page, name), 0);
    }));

  it("shows live figures that refresh by themselves while open", (t) =>
    s.check(t, async () => {
      const figures = await openAdmin(admin.page, "Live figures");
      const messages = figures.locator('[data-figure="messagesPerMinute"] dd');
      const before = Number(await waitForText(messages, /^\d+$/));
      await waitForText(figures.locator('[data-figure="connections"] dd'), /^[1-9]\d*$/);
      await waitForText(figures.locator('[data-figure="onlinePeople"] dd'), /^[1-9]\d*$/);
      const asUser = await login(s.server, user.username, user.password);
      const { TestSocket } = await import("../integration/support/ws-client.js");
      const socket = await TestSocket.authed(s.server, asUser.body.accessToken);
      const room = (await socket.call({
        type: "room.create",
        name: uniqueName("busy"),
        isPublic: false,
      })) as {
        room: { id: string };
      };
      for (let i = 0; i < 2; i++)
        await socket.call({ type: "message.send", to: { room: room.room.id }, payload: "AAAA" });
      socket.close();
      // No click: the page reads the figures again by itself.
      await until(async () => Number(await messages.textContent()) >= before + 2, "messages per minute grew");
    }));

  it("shows the effective settings read-only, with secrets redacted", (t) =>
    s.check(t, async () => {
      const settings = await openAdmin(admin.page, "Settings");
      await waitForText(settings.locator('tr[data-setting="PARLEY_REGISTRATION"] td'), "open");
      await waitForText(settings.locator('tr[data-setting="PARLEY_METRICS_TOKEN"] td'), "[redacted]");
      assert.ok(!(await admin.page.content()).includes(METRICS_TOKEN), "the metrics token is on the page");
      assert.equal(await settings.locator("input, select, textarea").count(), 0, "nothing to edit");
    }));

  it("filters the audit log by kind and by user", (t) =>
    s.check(t, async () => {
      const audit = await openAdmin(admin.page, "Audit log");
      const form = audit.getByRole("form", { name: "Filter the audit log" });
      await form.getByRole("combobox", { name: "Kind" }).selectOption("role_changed");
      await form.getByRole("textbox", { name: "User" }).fill(user.username);
      await form.getByRole("button", { name: "Filter" }).click();
      const rows = audit.locator("tbody tr");
      await waitForCount(rows, 2);
      for (const kind of await rows.locator("td:nth-child(2)").allTextContents())
        assert.equal(kind, "role_changed");
      await form.getByRole("combobox", { name: "Kind" }).selectOption("invite_revoked");
      await form.getByRole("textbox", { name: "User" }).fill("");
      await form.getByRole("button", { name: "Filter" }).click();
      await waitForCount(rows, 1);
    }));

  it("deletes a user after a confirmation", (t) =>
    s.check(t, async () => {
      const doomed = await newPerson(s, "doomed");
      const users = await openAdmin(admin.page, "Users");
      await openAdmin(admin.page, "Invites");
      await openAdmin(admin.page, "Users");
      const row = userRow(users, doomed.username);
      await row.getByRole("button", { name: "Delete" }).click();
      const dialog = admin.page.getByRole("dialog", { name: `Delete ${doomed.username}?` });
      await dialog.getByRole("button", { name: "Keep" }).click();
      await dialog.waitFor({ state: "hidden" });
      assert.equal(await row.count(), 1, "Keep deletes nothing");
      await row.getByRole("button", { name: "Delete" }).click();
      await dialog.getByRole("button", { name: `Delete ${doomed.username}` }).click();
      await waitForCount(row, 0);
      const refused = await login(s.server, doomed.username, doomed.password);
      assert.equal(refused.status, 401);
      await doomed.close();
    }));

  it("clears a locked-out person's two-step sign-in after a confirmation; their page signs out", (t) =>
    s.check(t, async () => {
      const session = await login(s.server, user.username, user.password);
      const token = session.body.accessToken;
      const begun = await request<{ secret: string }>(s.server, "POST", "/api/totp/enrol", {
        token,
        body: { password: user.password },
      });
      const code = new TOTP({ secret: Secret.fromBase32(begun.body.secret) }).generate();
      const on = await request(s.server, "POST", "/api/totp/confirm", { token, body: { code } });
      assert.equal(on.status, 200, on.text);
      await waitForText(user.page.getByTestId("connection"), "Connected");

      const users = await openAdmin(admin.page, "Users");
      await openAdmin(admin.page, "Invites");
      await openAdmin(admin.page, "Users");
      const row = userRow(users, user.username);
      await waitForText(row.locator("td").nth(2), /two-step/);
      assert.equal(
        await userRow(users, admin.username).getByRole("button", { name: "Clear two-step" }).count(),
        0,
        "no button where two-step is off",
      );
      await row.getByRole("button", { name: "Clear two-step" }).click();
      const dialog = admin.page.getByRole("dialog", { name: `Clear two-step sign-in for ${user.username}?` });
      await waitForText(dialog, /lost both their authenticator and their recovery codes/);
      await dialog.getByRole("button", { name: "Keep" }).click();
      await dialog.waitFor({ state: "hidden" });
      assert.equal((await request(s.server, "GET", "/api/me", { token })).status, 200, "Keep clears nothing");
      await row.getByRole("button", { name: "Clear two-step" }).click();
      await dialog.getByRole("button", { name: `Clear two-step for ${user.username}` }).click();
      await until(
        async () => !(await row.locator("td").nth(2).textContent())?.includes("two-step"),
        "cleared",
      );
      await waitForCount(row.getByRole("button", { name: "Clear two-step" }), 0);
      // Every session ended (AUTH-16): the open page is back at the sign-in form, and the
      // password alone signs in again.
      await signInAgain(user, /ended .*by an admin/);
      assert.equal(await user.page.getByRole("form", { name: "Two-step sign-in" }).count(), 0);
      await s.screenshot(admin, "clear-two-step");
    }));

  it("blocks an address with a note, lists who blocked it and why, and lifts it", (t) =>
    s.check(t, async () => {
      const blocks = await openAdmin(admin.page, "IP blocks");
      const form = blocks.getByRole("form", { name: "Block an address" });
      await form.getByRole("textbox", { name: "Address" }).fill("10.20.30.40");
      await form.getByRole("spinbutton", { name: "Minutes" }).fill("15");
      await form.getByRole("textbox", { name: "Note" }).fill("Port scanner on the guest Wi-Fi");
      await form.getByRole("button", { name: "Block address" }).click();
      const row = blocks.locator('tr[data-ip="10.20.30.40"]');
      await waitForText(
        row.getByTestId("block-reason"),
        `Blocked by ${admin.username}: Port scanner on the guest Wi-Fi`,
      );
      await form.getByRole("textbox", { name: "Address" }).fill("not-an-address");
      await form.getByRole("button", { name: "Block address" }).click();
      await waitForText(blocks.getByRole("alert"), /./);
      await s.screenshot(admin, "ip-blocks");
      await row.getByRole("button", { name: "Lift block" }).click();
      await waitForCount(row, 0);
    }));

  it("pages the audit log with next and previous, keeping the filter", (t) =>
    s.check(t, async () => {
      const token = (await login(s.server, admin.username, admin.password)).body.accessToken;
      // More invite_created entries than two pages of 50 hold.
      for (let i = 0; i < 105; i++) {
        const res = await request(s.server, "POST", "/api/admin/invites", { token, body: {} });
        assert.equal(res.status, 201, res.text);
      }
      const audit = await openAdmin(admin.page, "Audit log");
      const form = audit.getByRole("form", { name: "Filter the audit log" });
      await form.getByRole("combobox", { name: "Kind" }).selectOption("invite_created");
      await form.getByRole("button", { name: "Filter" }).click();
      const rows = audit.locator("tbody tr");
      const pager = audit.getByRole("navigation", { name: "Audit log pages" });
      const newer = pager.getByRole("button", { name: "Newer entries" });
      const older = pager.getByRole("button", { name: "Older entries" });
      const first = () => rows.first().locator("td").nth(4).textContent();
      await waitForCount(rows, 50);
      await waitForText(pager.getByTestId("audit-page"), "Page 1");
      assert.equal(await newer.isDisabled(), true);
      const page1 = await first();

      await older.click();
      await waitForText(pager.getByTestId("audit-page"), "Page 2");
      await until(async () => (await first()) !== page1, "page 2 shows other entries");
      const page2 = await first();
      await waitForCount(rows, 50);
      for (const kind of await rows.locator("td:nth-child(2)").allTextContents())
        assert.equal(kind, "invite_created", "the filter holds on page 2");

      await older.click();
      await waitForText(pager.getByTestId("audit-page"), "Page 3");
      await until(async () => (await older.isDisabled()) && (await rows.count()) >= 5, "the last page");
      for (const kind of await rows.locator("td:nth-child(2)").allTextContents())
        assert.equal(kind, "invite_created", "the filter holds on page 3");

      await newer.click();
      await waitForText(pager.getByTestId("audit-page"), "Page 2");
      await until(async () => (await first()) === page2, "back on page 2");
      await newer.click();
      await waitForText(pager.getByTestId("audit-page"), "Page 1");
      await until(async () => (await first()) === page1, "back on page 1");
      assert.equal(await newer.isDisabled(), true);
      await s.screenshot(admin, "audit-pages");
    }));

  it("fits the admin area on a laptop and on a phone", (t) =>
    s.check(t, async () => {
      for (const [width, height] of [
        [1440, 900],
        [360, 740],
      ] as const) {
        await admin.page.setViewportSize({ width, height });
        for (const section of ["Users", "IP blocks", "Audit log"]) {
          const region = await openAdmin(admin.page, section);
          await s.screenshot(admin, `${section.toLowerCase().replace(/ /g, "-")}-${width}`);
          // Nothing of the page is pushed off its side: the admin area scrolls within itself,
          // and its header and section buttons stay on screen.
          const overflow = await admin.page.evaluate<number>(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth",
          );
          assert.equal(overflow, 0, `${section} at ${width}: the page scrolls sideways`);
          assert.ok(await region.isVisible());
          for (const control of [
            adminArea(admin.page).getByRole("button", { name: "Close admin" }),
            adminArea(admin.page).getByRole("button", { name: "Audit log" }),
          ]) {
            const box = await control.boundingBox();
            assert.ok(box && box.x >= 0 && box.x + box.width <= width, `${section} at ${width}: cut off`);
          }
        }
      }
      await admin.page.setViewportSize(DESKTOP);
    }));

  it("closes the admin area and shows conversations again", (t) =>
    s.check(t, async () => {
      await openAdmin(admin.page, "Users");
      await adminArea(admin.page).getByRole("button", { name: "Close admin" }).click();
      await waitForCount(adminArea(admin.page), 0);
    }));
});

describe("recovery codes (AUTH-12)", () => {
  let s: E2eSuite;
  let person: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    person = await newPerson(s, "careful");
  });
  after(async () => {
    await s?.close();
  });

  it("makes codes in Settings with the password; one resets the password once, not twice", (t) =>
    s.check(t, async () => {
      const { page } = person;
      const settings = await openSettings(page);
      const section = settings.getByRole("form", { name: "Recovery codes" });
      await section.getByLabel("Password", { exact: true }).fill("Not-The-Password-1!");
      await section.getByRole("button", { name: "Make new recovery codes" }).click();
      await waitForText(section.getByRole("alert"), /^Wrong username or password/);
      await section.getByLabel("Password", { exact: true }).fill(person.password);
      await section.getByRole("button", { name: "Make new recovery codes" }).click();
      const shown = page.getByRole("dialog", { name: "Your recovery codes" });
      const list = shown.getByRole("list", { name: "New recovery codes" });
      await waitForCount(list.getByRole("listitem"), 10);
      const codes = await list.getByRole("listitem").allTextContents();
      for (const c of codes) assert.match(c, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
      await shown.getByRole("button", { name: "Print" }).waitFor();
      await shown.getByRole("button", { name: "Done" }).click();
      await waitForText(section, /You have 10 unused codes/);
      await settings.getByRole("button", { name: "Close" }).click();
      await signOut(page);

      const useCode = async (code: string, password: string) => {
        await signInForm(page).getByRole("link", { name: "Forgot password?" }).click();
        const form = page.getByRole("form", { name: "Reset password" });
        await form.getByRole("textbox", { name: "Username" }).fill(person.username);
        await form.getByRole("textbox", { name: "Code" }).fill(code);
        await form.getByLabel("New password", { exact: true }).fill(password);
        await form.getByLabel("Confirm new password", { exact: true }).fill(password);
        await form.getByRole("button", { name: "Set new password" }).click();
        return form;
      };
      const first = codes[0] ?? "";
      await useCode(first, NEW_PASSWORD);
      await waitForText(signInForm(page).getByTestId("signin-notice"), /^Your password is changed/);
      const again = await useCode(first, "Second-Meadow-Lantern-5");
      await waitForText(again.getByRole("alert"), /^Wrong username or code/);
      await signIn(page, person.username, NEW_PASSWORD);
    }));
});

describe("invite links", () => {
  let s: E2eSuite;
  let admin: E2eUser;
  let adminName: string;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000, registration: "invite" });
    // The first account needs a code too: one written straight into the database.
    const { code, hash } = newInviteCode();
    const storage = s.server.server.storage;
    await storage.createUser({
      id: asUserId("bootstrap"),
      username: "bootstrap",
      passwordHash: "not-a-login",
      isAdmin: true,
      createdAt: Date.now(),
    });
    await storage.createInvite({
      id: hash.slice(0, 16),
      codeHash: hash,
      createdBy: asUserId("bootstrap"),
      createdAt: Date.now(),
      expiresAt: Date.now() + 3_600_000,
    });
    adminName = uniqueName("admin");
    const made = await request<SessionResponse>(s.server, "POST", "/api/register", {
      body: { username: adminName, password: STRONG_PASSWORD, inviteCode: code },
    });
    assert.equal(made.status, 201, made.text);
    await storage.setUserAdmin(asUserId(made.body.user.id), true);
    admin = await s.newUser("admin");
    await signIn(admin.page, adminName, STRONG_PASSWORD);
  });
  after(async () => {
    await s?.close();
  });

  it("opens the registration form with the code filled in, and takes it off the address", (t) =>
    s.check(t, async () => {
      const invites = await openAdmin(admin.page, "Invites");
      await invites.getByRole("button", { name: "Create invite" }).click();
      const link = await waitForText(invites.getByTestId("invite-link"), /#invite=/);

      const visitor = await s.newUser("visitor", { path: new URL(link).pathname + new URL(link).hash });
      const form = registerForm(visitor.page);
      await form.waitFor();
      const code = link.slice(link.indexOf("#invite=") + "#invite=".length);
      assert.equal(await form.getByRole("textbox", { name: "Invite code" }).inputValue(), code);
      assert.ok(!visitor.page.url().includes(code), "the code stays in the address bar");
      const name = uniqueName("invited");
      await form.getByRole("textbox", { name: "Username" }).fill(name);
      await form.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
      await form.getByLabel("Confirm password", { exact: true }).fill(STRONG_PASSWORD);
      await form.getByRole("button", { name: "Create account" }).click();
      await waitForSignedIn(visitor.page, name);
    }));
});
