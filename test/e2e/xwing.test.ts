import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { uniqueName } from "../integration/support/harness.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import { acceptInvitation, createRoom, invite, sendMessage, waitForMessage } from "./support/ui.js";
import { waitForText } from "./support/wait.js";

// Issue 21: browsers on a server run with PARLEY_MLS_SUITE=xwing make and join post-quantum
// groups, say so in the conversation's security details, and load the X-Wing code only there.

/** The lazily loaded chunk of packages/crypto/src/provider-xwing.ts (Vite names it after the module). */
const isXWingChunk = (url: string) => /\/assets\/provider-xwing-[^/]*\.js$/.test(url);

describe("post-quantum groups in the browser", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { mlsSuite: "xwing", authRatePerMin: 10_000 });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
  });
  after(async () => {
    await s?.close();
  });

  it("joins an X-Wing room, exchanges messages both ways, and shows the suite", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Quantum");
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      await acceptInvitation(bob.page, room);
      await alice.page
        .getByRole("list", { name: "Members" })
        .locator(`li[data-user="${bob.username}"]`)
        .waitFor();

      await sendMessage(alice.page, "Recorded today, unreadable tomorrow.");
      await waitForMessage(bob.page, alice.username, "Recorded today, unreadable tomorrow.");
      await sendMessage(bob.page, "Even with a quantum computer.");
      await waitForMessage(alice.page, bob.username, "Even with a quantum computer.");

      // The room's security details name the suite of its group.
      const label = alice.page.getByTestId("mls-suite");
      await waitForText(label, "Key exchange: Post-quantum: X-Wing (ML-KEM-768 + X25519)");
      assert.equal(await label.getAttribute("data-suite"), "xwing");
      // And so does the safety-number dialog opened from it.
      await alice.page.getByRole("button", { name: `Verify ${bob.username}`, exact: true }).click();
      await waitForText(
        alice.page.getByRole("dialog").getByTestId("mls-suite"),
        "Key exchange: Post-quantum: X-Wing (ML-KEM-768 + X25519)",
      );
      // Bob's device, which joined from a Welcome, shows the same.
      await waitForText(
        bob.page.getByTestId("mls-suite"),
        "Key exchange: Post-quantum: X-Wing (ML-KEM-768 + X25519)",
      );

      // The X-Wing code came in its own chunk, from this server only.
      for (const p of [alice, bob]) {
        assert.ok(
          p.guard.requests.some((r) => r.allowed && isXWingChunk(r.url)),
          `${p.label} loaded the X-Wing chunk`,
        );
      }
    }));
});

describe("on an X25519 server", () => {
  let s: E2eSuite;
  let carol: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    carol = await newPerson(s, "carol");
  });
  after(async () => {
    await s?.close();
  });

  it("never downloads the X-Wing code, and labels a room X25519", (t) =>
    s.check(t, async () => {
      await createRoom(carol.page, uniqueName("Classic"));
      await waitForText(carol.page.getByTestId("mls-suite"), "Key exchange: X25519");
      assert.equal(await carol.page.getByTestId("mls-suite").getAttribute("data-suite"), "x25519");
      assert.deepEqual(
        carol.guard.requests.filter((r) => isXWingChunk(r.url)).map((r) => r.url),
        [],
      );
    }));
});
