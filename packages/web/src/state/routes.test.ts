import assert from "node:assert/strict";
import { test } from "node:test";
import { inviteFromHash, inviteLink, routeFromHash } from "./routes.js";

test("signed out, the hash picks a public page and anything else is the sign-in form", () => {
  assert.equal(routeFromHash("#/register", false), "register");
  assert.equal(routeFromHash("#/trust", false), "trust");
  assert.equal(routeFromHash("#/reset", false), "reset");
  assert.equal(routeFromHash("#/app", false), "signin");
  assert.equal(routeFromHash("", false), "signin");
  assert.equal(routeFromHash("#/__proto__", false), "signin");
});

test("signed in, every hash is the app except the trust page", () => {
  assert.equal(routeFromHash("#/signin", true), "app");
  assert.equal(routeFromHash("#/register", true), "app");
  assert.equal(routeFromHash("#/reset", true), "app");
  assert.equal(routeFromHash("#/trust", true), "trust");
});

test("an invite link carries its code in the fragment, and only a plausible code is taken from it", () => {
  const link = inviteLink("https://parley.local:8443", "7KQM-2XWD-H9RT-C4VB");
  assert.equal(link, "https://parley.local:8443/#invite=7KQM-2XWD-H9RT-C4VB");
  assert.equal(inviteFromHash(new URL(link).hash), "7KQM-2XWD-H9RT-C4VB");
  assert.equal(inviteFromHash("#invite=%E0%A4%A"), undefined, "bad escape");
  assert.equal(inviteFromHash("#invite="), undefined);
  assert.equal(inviteFromHash(`#invite=${"A".repeat(65)}`), undefined);
  assert.equal(inviteFromHash("#/register"), undefined);
});
