import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ResetCodeResponse, SessionResponse } from "@parley/protocol";
import { asUserId } from "../../packages/server/src/domain/ids.js";
import { registerUser, request, STRONG_PASSWORD, uniqueName } from "../integration/support/harness.js";
import { E2eSuite, type E2eUser } from "./support/suite.js";
import { register, signIn, signInForm, signOut } from "./support/ui.js";
import { waitForText } from "./support/wait.js";

// Issue 19 part 2: "Forgot password? Enter the code your admin gave you" on the sign-in page
// (PROTOCOL.md AUTH-11), with the real browser client against a real server.

const NEW_PASSWORD = "Fresh-Meadow-Lantern-4";

describe("forgot password", () => {
  let s: E2eSuite;
  let person: E2eUser;
  let admin: SessionResponse;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000 });
    person = await s.newUser("forgetful");
    admin = await registerUser(s.server, uniqueName("admin"));
    await s.server.server.storage.setUserAdmin(asUserId(admin.user.id), true);
  });
  after(async () => {
    await s?.close();
  });

  it("sets a new password with the admin's code from the sign-in page; the identity stays", (t) =>
    s.check(t, async () => {
      const { page } = person;
      const name = uniqueName("forgot");
      await register(page, name, STRONG_PASSWORD);
      const users = await request<{ users: { id: string; username: string }[] }>(
        s.server,
        "GET",
        "/api/admin/users",
        {
          token: admin.accessToken,
        },
      );
      const id = users.body.users.find((u) => u.username === name)?.id ?? "";
      const identity = async (password: string) => {
        const session = await request<SessionResponse>(s.server, "POST", "/api/login", {
          body: { username: name, password },
        });
        const res = await request<{ identityKey: string | null }>(s.server, "GET", "/api/identity", {
          token: session.body.accessToken,
        });
        return res.body.identityKey;
      };
      const before = await identity(STRONG_PASSWORD);
      assert.ok(before, "the browser bound no identity key");
      await signOut(page);

      const issued = await request<ResetCodeResponse>(s.server, "POST", `/api/admin/users/${id}/reset-code`, {
        token: admin.accessToken,
      });
      assert.equal(issued.status, 201, issued.text);

      await signInForm(page).getByRole("link", { name: "Forgot password?" }).click();
      const form = page.getByRole("form", { name: "Reset password" });
      await form.getByRole("textbox", { name: "Username" }).fill(name);
      await form.getByRole("textbox", { name: "Code" }).fill("AAAA-BBBB-CCCC-DDDD");
      await form.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await form.getByLabel("Confirm new password", { exact: true }).fill(NEW_PASSWORD);
      await form.getByRole("button", { name: "Set new password" }).click();
      await waitForText(form.getByRole("alert"), /^Wrong username or code/);

      await form.getByRole("textbox", { name: "Code" }).fill(issued.body.code.toLowerCase());
      await form.getByRole("button", { name: "Set new password" }).click();
      await waitForText(signInForm(page).getByTestId("signin-notice"), /^Your password is changed/);

      await signIn(page, name, NEW_PASSWORD);
      assert.equal(await identity(NEW_PASSWORD), before, "the identity key changed");
    }));
});
