import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStore } from "@parley/client";
import type { Page } from "playwright-core";
import { uniqueName } from "../integration/support/harness.js";
import { sdkClient } from "../integration/support/sdk.js";
import { newUnlinkedDevice, resetIdentityHere } from "./support/linking.js";
import { NetworkGuard } from "./support/network-guard.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  acceptInvitation,
  closeDialog,
  composer,
  conversationButton,
  createRoom,
  invite,
  messageLog,
  messages,
  openConversation,
  openDirect,
  readSafetyNumber,
  SAFETY_NUMBER,
  safetyDialog,
  sendMessage,
  waitForMessage,
} from "./support/ui.js";
import { until, waitForText } from "./support/wait.js";

// Issue 4, "Done means": HTML and javascript: links in messages are harmless text, no request
// leaves for any host but the server, safety numbers agree across two browsers, "mark as
// verified" flips the lock badge, and a device change raises the blocking key-change banner.

describe("message rendering", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
    await openDirect(bob.page, alice.username);
    await sendMessage(bob.page, "Hi Alice.");
    await openConversation(alice.page, bob.username);
    await waitForMessage(alice.page, bob.username, "Hi Alice.");
  });
  after(async () => {
    await s?.close();
  });

  it("shows HTML in a message as text: no element, no script, no request", (t) =>
    s.check(t, async () => {
      const payload = "<img src=x onerror=alert(1)> and <script>alert(2)</script>";
      await sendMessage(bob.page, payload);
      // A plain message after it: once it is shown, anything the first one could load or run has had its turn.
      await sendMessage(bob.page, "after the html");
      for (const p of [alice, bob]) {
        const html = await waitForMessage(p.page, bob.username, "<img src=x onerror=alert(1)>");
        await waitForMessage(p.page, bob.username, "after the html");
        const body = html.getByTestId("body");
        assert.match(
          (await body.textContent()) ?? "",
          /<img src=x onerror=alert\(1\)> and <script>alert\(2\)<\/script>/,
        );
        assert.equal(
          await messageLog(p.page).locator("img, script").count(),
          0,
          `${p.label}: an element from the message`,
        );
        assert.deepEqual(p.dialogs, [], `${p.label}: a dialog opened`);
        const fetched = p.guard.requests.filter((r) => new URL(r.url).pathname === "/x");
        assert.deepEqual(fetched, [], `${p.label}: the page fetched the message's image`);
      }
    }));

  it("does not turn javascript: or data: URLs into links, but links https with its target shown", (t) =>
    s.check(t, async () => {
      // Loopback addresses: even a prefetch of these would not leave the machine.
      const lines = [
        "[click me](javascript:alert(1))",
        "javascript:alert(2)",
        "[data link](data:text/html,<b>x</b>)",
        "[the runbook](https://127.0.0.2/runbook) and https://127.0.0.3/status",
      ];
      for (const line of lines) await sendMessage(bob.page, line);
      for (const p of [alice, bob]) {
        for (const line of lines.slice(0, 3)) {
          const m = await waitForMessage(p.page, bob.username, line);
          assert.equal(await m.locator("a").count(), 0, `${p.label}: "${line}" became a link`);
        }
        const links = await waitForMessage(p.page, bob.username, "127.0.0.3/status");
        const runbook = links.getByRole("link", { name: "the runbook" });
        assert.equal(await runbook.getAttribute("href"), "https://127.0.0.2/runbook");
        assert.deepEqual(((await runbook.getAttribute("rel")) ?? "").split(/\s+/).sort(), [
          "nofollow",
          "noopener",
          "noreferrer",
        ]);
        assert.equal(await runbook.getAttribute("target"), "_blank");
        // The target is shown next to a link whose text is not the URL itself.
        assert.match((await links.textContent()) ?? "", /the runbook\s*\(https:\/\/127\.0\.0\.2\/runbook\)/);
        const bare = links.getByRole("link", { name: "https://127.0.0.3/status" });
        assert.equal(await bare.getAttribute("href"), "https://127.0.0.3/status");
        assert.match((await bare.getAttribute("rel")) ?? "", /\bnoopener\b/);
      }
      // Clicking the text of the javascript: "link" runs nothing.
      await messages(alice.page, bob.username, "[click me]").last().getByText("click me").click();
      assert.deepEqual(alice.dialogs, []);
      assert.match(alice.page.url(), /#\/app$/);
    }));

  it("renders the Markdown subset: bold, italic, code, code blocks and lists", (t) =>
    s.check(t, async () => {
      await sendMessage(bob.page, "**bold** and _italic_ and `inline code`");
      await sendMessage(bob.page, "- apples\n- pears");
      await sendMessage(bob.page, "1. first\n2. second");
      await sendMessage(bob.page, "```\nconst x = 1;\n```");
      const page = alice.page;
      const inline = (await waitForMessage(page, bob.username, "inline code")).getByTestId("body");
      assert.equal(await inline.locator("strong").textContent(), "bold");
      assert.equal(await inline.locator("em").textContent(), "italic");
      assert.equal(await inline.locator("code").textContent(), "inline code");
      const ul = (await waitForMessage(page, bob.username, "pears")).locator("ul > li");
      assert.deepEqual(await ul.allInnerTexts(), ["apples", "pears"]);
      const ol = (await waitForMessage(page, bob.username, "second")).locator("ol > li");
      assert.deepEqual(await ol.allInnerTexts(), ["first", "second"]);
      const block = (await waitForMessage(page, bob.username, "const x = 1;")).locator("pre > code");
      assert.equal((await block.textContent())?.trim(), "const x = 1;");
    }));

  it("is guarded: a request to any other host is blocked and reported", (t) =>
    s.check(t, async () => {
      // The guard itself must be able to fail a test: a context of its own, so the suite's
      // end-of-file check stays about the app. The addresses are loopback: nothing leaves even if it broke.
      const context = await s.browser.newContext();
      try {
        const guard = await NetworkGuard.attach(context, s.url);
        const page = await context.newPage();
        await page.goto(s.url);
        // The app's CSP (connect-src 'self') would refuse these before any network activity:
        // from a blank page, only the guard stands in the way.
        await page.goto("about:blank");
        const outcome = await page.evaluate(
          `Promise.allSettled([fetch("https://127.0.0.2:9/leak"), fetch("https://localhost:${new URL(s.url).port}/leak")]).then((r) => r.map((x) => x.status))`,
        );
        assert.deepEqual(outcome, ["rejected", "rejected"]);
        const socket = await page.evaluate(
          `new Promise((resolve) => { const ws = new WebSocket("wss://127.0.0.2:9/ws"); ws.onopen = () => resolve("open"); ws.onclose = () => resolve("closed"); })`,
        );
        assert.equal(socket, "closed");
        assert.deepEqual(
          guard
            .blocked()
            .map((r) => r.url)
            .sort(),
          [
            "https://127.0.0.2:9/leak",
            `https://localhost:${new URL(s.url).port}/leak`,
            "wss://127.0.0.2:9/ws",
          ],
        );
        assert.throws(
          () => guard.assertClean("self-test"),
          /3 request\(s\) to hosts other than the test server/,
        );
        assert.ok(
          guard.requests.some((r) => r.allowed && r.url.startsWith(s.url)),
          "the server's own page was allowed",
        );
      } finally {
        await context.close();
      }
    }));
});

/** Opens the open conversation's safety number and marks `peer` verified. */
async function verify(page: Page, peer: string): Promise<void> {
  await readSafetyNumber(page, peer);
  const dialog = safetyDialog(page, peer);
  await dialog.getByRole("button", { name: "Mark as verified" }).click();
  await closeDialog(dialog);
  await page.getByRole("button", { name: "Encryption: verified", exact: true }).waitFor();
}

describe("safety numbers and key changes", () => {
  let s: E2eSuite;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
  });
  after(async () => {
    await s?.close();
  });

  it("shows both people the same 60 digits, and marking verified flips the lock badge", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice");
      const bob = await newPerson(s, "bob");
      await openDirect(bob.page, alice.username);
      await sendMessage(bob.page, "Shall we compare numbers?");
      await openConversation(alice.page, bob.username);
      await waitForMessage(alice.page, bob.username, "Shall we compare numbers?");

      await alice.page.getByRole("button", { name: "Encryption: not verified", exact: true }).waitFor();
      const seenByAlice = await readSafetyNumber(alice.page, bob.username);
      const seenByBob = await readSafetyNumber(bob.page, alice.username);
      assert.equal(seenByAlice, seenByBob);
      assert.equal(seenByAlice.replace(/ /g, "").length, 60);
      // The same rows as the terminal client's /verify: 3 rows of 4 groups.
      const rows = await safetyDialog(alice.page, bob.username).locator(".safety-row").allInnerTexts();
      const groups = seenByAlice.split(" ");
      assert.deepEqual(
        rows.map((r) => r.trim()),
        [0, 4, 8].map((i) => groups.slice(i, i + 4).join(" ")),
      );

      const dialog = safetyDialog(alice.page, bob.username);
      await dialog.getByRole("button", { name: "Mark as verified" }).click();
      await dialog.getByRole("button", { name: "Close" }).click();
      await dialog.waitFor({ state: "hidden" });
      await alice.page.getByRole("button", { name: "Encryption: verified", exact: true }).waitFor();
      // Only Alice verified: Bob's side is unchanged.
      await safetyDialog(bob.page, alice.username).getByRole("button", { name: "Close" }).click();
      await bob.page.getByRole("button", { name: "Encryption: not verified", exact: true }).waitFor();
    }));

  it("verifies a room member from the Members list, and the room's lock badge follows", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice");
      const bob = await newPerson(s, "bob");
      const room = uniqueName("Vault");
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      await acceptInvitation(bob.page, room);
      await alice.page
        .getByRole("list", { name: "Members" })
        .locator(`li[data-user="${bob.username}"]`)
        .waitFor();
      await alice.page.getByRole("button", { name: "Encryption: not verified", exact: true }).waitFor();

      await alice.page.getByRole("button", { name: `Verify ${bob.username}`, exact: true }).click();
      const dialog = safetyDialog(alice.page, bob.username);
      const aliceSees = await waitForText(dialog.getByTestId("safety-number"), SAFETY_NUMBER);
      await bob.page.getByRole("button", { name: `Verify ${alice.username}`, exact: true }).click();
      const bobSees = await waitForText(
        safetyDialog(bob.page, alice.username).getByTestId("safety-number"),
        SAFETY_NUMBER,
      );
      assert.equal(aliceSees, bobSees);
      await dialog.getByRole("button", { name: "Mark as verified" }).click();
      await closeDialog(dialog);
      await alice.page.getByRole("button", { name: "Encryption: verified", exact: true }).waitFor();
    }));

  it("blocks the conversation with a banner when a verified contact's identity changes, until verified again", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice");
      const bob = await newPerson(s, "bob");
      await openDirect(bob.page, alice.username);
      await sendMessage(bob.page, "First device here.");
      await openConversation(alice.page, bob.username);
      await waitForMessage(alice.page, bob.username, "First device here.");
      await verify(alice.page, bob.username);
      await composer(alice.page).waitFor();
      assert.ok(await composer(alice.page).isEnabled());

      // Bob, on a new browser with no other device at hand, resets his identity: new keys.
      const bobPhone = await newUnlinkedDevice(s, bob, "bob-phone");
      await resetIdentityHere(bobPhone.page, bob.username, bob.password);
      await openConversation(bobPhone.page, alice.username);
      await sendMessage(bobPhone.page, "New phone, same Bob.");

      const banner = alice.page
        .getByRole("alert")
        .filter({ hasText: `${bob.username}'s security key changed` });
      await banner.waitFor();
      await alice.page.getByRole("button", { name: "Encryption: key changed", exact: true }).waitFor();
      assert.ok(await composer(alice.page).isDisabled(), "the composer is disabled while the banner shows");

      await banner.getByRole("button", { name: "Review safety number" }).click();
      const dialog = safetyDialog(alice.page, bob.username);
      const aliceSees = await waitForText(dialog.getByTestId("safety-number"), SAFETY_NUMBER);
      // The number now covers Bob's new identity key, and Bob's new device agrees with it.
      const phoneSees = await readSafetyNumber(bobPhone.page, alice.username);
      assert.equal(aliceSees, phoneSees);
      await dialog.getByRole("button", { name: "Mark as verified" }).click();
      await dialog.getByRole("button", { name: "Close" }).click();
      await banner.waitFor({ state: "detached" });
      await until(async () => composer(alice.page).isEnabled(), "the composer to be enabled again");
      await alice.page.getByRole("button", { name: "Encryption: verified", exact: true }).waitFor();
      await waitForMessage(alice.page, bob.username, "New phone, same Bob.");
      await sendMessage(alice.page, "Verified your phone.");
      await waitForMessage(bobPhone.page, alice.username, "Verified your phone.");
    }));

  it("raises the banner for a reset made while the browser was offline, and the two talk after", (t) =>
    s.check(t, async () => {
      // Alice's browser reaches the server through a relay the test can cut: her device is away
      // while bob resets, then comes back. Bob's reset is made by an SDK client that stops at
      // once, before its new device could rejoin the conversation: only the server's answer to
      // "what did I miss?" can tell alice's browser of the new key.
      const relay = await s.relay();
      const alice = await newPerson(s, "alice", { via: relay });
      const bob = await newPerson(s, "bob");
      await openDirect(bob.page, alice.username);
      await sendMessage(bob.page, "Before I lose my laptop.");
      await openConversation(alice.page, bob.username);
      await waitForMessage(alice.page, bob.username, "Before I lose my laptop.");
      await verify(alice.page, bob.username);

      relay.cut();
      await waitForText(alice.page.getByTestId("connection"), /^Reconnecting in \d+ s$/);
      const store = new MemoryStore();
      const bobNew = sdkClient(s.server, store);
      try {
        await bobNew.login(bob.username, bob.password);
        await bobNew.resetIdentity(bob.password);
      } finally {
        await bobNew.close();
      }
      await bob.close();

      relay.restore();
      await waitForText(alice.page.getByTestId("connection"), "Connected");
      const banner = alice.page
        .getByRole("alert")
        .filter({ hasText: `${bob.username}'s security key changed` });
      await banner.waitFor();
      await alice.page.getByRole("button", { name: "Encryption: key changed", exact: true }).waitFor();
      assert.ok(await composer(alice.page).isDisabled(), "the composer waits for a review");

      // Bob's new device comes back and joins; alice reviews the new number and they talk.
      const bobBack = sdkClient(s.server, store);
      try {
        assert.equal(await bobBack.resume(), true);
        await bobBack.connect();
        const aliceId = (await bobBack.users()).find((u) => u.username === alice.username)?.id;
        assert.ok(aliceId !== undefined);
        const direct = await bobBack.openDirect(aliceId);
        await banner.getByRole("button", { name: "Review safety number" }).click();
        const dialog = safetyDialog(alice.page, bob.username);
        const aliceSees = await waitForText(dialog.getByTestId("safety-number"), SAFETY_NUMBER);
        assert.equal(
          aliceSees,
          (await bobBack.safetyNumber(aliceId)).groups.join(" "),
          "the new key's number",
        );
        await dialog.getByRole("button", { name: "Mark as verified" }).click();
        await closeDialog(dialog);
        await banner.waitFor({ state: "detached" });
        await until(
          async () => (await bobBack.roomDevices(direct.id)).length === 2,
          "bob's new device in the group",
        );
        const heard = new Promise<void>((resolve) => {
          const off = bobBack.on("message", (m) => {
            if (m.text !== "Welcome back, Bob.") return;
            off();
            resolve();
          });
        });
        await sendMessage(alice.page, "Welcome back, Bob.");
        await heard;
        await bobBack.send(direct.id, "Thanks, new laptop.");
        await waitForMessage(alice.page, bob.username, "Thanks, new laptop.");
      } finally {
        await bobBack.close();
      }
    }));

  it("lets the user accept a changed key without verifying, which unblocks the composer", (t) =>
    s.check(t, async () => {
      const alice = await newPerson(s, "alice");
      const carol = await newPerson(s, "carol");
      await openDirect(carol.page, alice.username);
      await sendMessage(carol.page, "Hello from my laptop.");
      await openConversation(alice.page, carol.username);
      await waitForMessage(alice.page, carol.username, "Hello from my laptop.");

      await verify(alice.page, carol.username);

      const carolTablet = await newUnlinkedDevice(s, carol, "carol-tablet");
      await resetIdentityHere(carolTablet.page, carol.username, carol.password);
      await openConversation(carolTablet.page, alice.username);
      await sendMessage(carolTablet.page, "And from my tablet.");
      const banner = alice.page
        .getByRole("alert")
        .filter({ hasText: `${carol.username}'s security key changed` });
      await banner.waitFor();
      assert.ok(await composer(alice.page).isDisabled());

      await banner.getByRole("button", { name: "Review safety number" }).click();
      const dialog = safetyDialog(alice.page, carol.username);
      await dialog.getByRole("button", { name: "Accept new key" }).click();
      await dialog.getByRole("button", { name: "Close" }).click();
      await banner.waitFor({ state: "detached" });
      await until(async () => composer(alice.page).isEnabled(), "the composer to be enabled again");
      // Accepted is not verified.
      await alice.page.getByRole("button", { name: "Encryption: not verified", exact: true }).waitFor();
      assert.equal(await conversationButton(alice.page, carol.username).count(), 1);
    }));
});
