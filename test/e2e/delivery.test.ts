import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { uniqueName } from "../integration/support/harness.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import {
  acceptInvitation,
  closeDialog,
  createRoom,
  invite,
  messages,
  sendMessage,
  waitForMessage,
} from "./support/ui.js";
import { until, waitForAttribute, waitForText } from "./support/wait.js";

// Issue 13 parts 2 and 3 in the browser (PROTOCOL.md RCPT-2): honest ticks on one's own
// messages, and the "Info" view that says which member devices have a message.

describe("delivery ticks and message info between browsers", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
  });
  after(async () => {
    await s?.close();
  });

  it("shows read once bob saw it, and who lacks a message while bob is away, in the Info view", (t) =>
    s.check(t, async () => {
      const room = uniqueName("Ticks");
      await createRoom(alice.page, room);
      await invite(alice.page, bob.username);
      await acceptInvitation(bob.page, room);

      // Bob has the room open: his device acknowledges it, and he reads it as it comes.
      await sendMessage(alice.page, "Did you see this?");
      await waitForMessage(bob.page, alice.username, "Did you see this?");
      const first = messages(alice.page, alice.username, "Did you see this?").last();
      await waitForAttribute(first, "data-status", "read");
      assert.equal(await first.getByTestId("ticks").getAttribute("title"), "Read");
      // Two ticks drawn (an icon, not a glyph some fonts lack), as large as the text around them.
      const read = first.getByTestId("ticks").locator("svg.lucide-check-check");
      assert.equal(await read.count(), 1, "two ticks drawn");
      assert.ok(((await read.boundingBox())?.height ?? 0) >= 16, "the ticks are readable, not tiny");
      // Info is one of the message's actions, shown on hover (CHAT).
      await first.hover();
      await first.getByRole("button", { name: "Info" }).click();
      let dialog = alice.page.getByRole("dialog", { name: "Message info" });
      await waitForText(dialog.getByTestId("delivery-summary"), "Delivered to 1 of 1 devices.");
      await waitForText(dialog.getByText(/^Read by /), `Read by ${bob.username}.`);
      await closeDialog(dialog);

      // Bob goes away: the next message is sent (one tick) and waits for his device.
      await bob.close();
      await sendMessage(alice.page, "Are you still there?");
      const second = messages(alice.page, alice.username, "Are you still there?").last();
      await until(
        async () => (await second.getByTestId("ticks").getAttribute("title")) === "Sent (0 of 1 devices)",
        "sent, delivered to none of 1 device",
      );
      assert.equal(
        await second.getByTestId("ticks").locator("svg.lucide-check").count(),
        1,
        "one tick drawn",
      );
      assert.equal(await second.getByTestId("ticks").locator("svg.lucide-check-check").count(), 0);
      // Info is one of the message's actions, shown on hover (CHAT).
      await second.hover();
      await second.getByRole("button", { name: "Info" }).click();
      dialog = alice.page.getByRole("dialog", { name: "Message info" });
      await waitForText(dialog.getByTestId("delivery-summary"), "Delivered to 0 of 1 devices.");
      const devices = dialog.getByRole("list", { name: "Devices" }).getByRole("listitem");
      assert.equal(await devices.count(), 1);
      assert.match(
        (await devices.first().textContent()) ?? "",
        new RegExp(`^${bob.username} \\(device [^)]+\\): waiting$`),
      );
      // The server keeps no messages (GET /api/info storage): bob gets it from one of alice's devices.
      await waitForText(
        dialog.getByTestId("delivery-note"),
        `This server keeps no messages; ${bob.username} gets this when they and one of you are online`,
      );
      await closeDialog(dialog);
    }));
});
