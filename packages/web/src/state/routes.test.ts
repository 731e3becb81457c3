import assert from "node:assert/strict";
import { test } from "node:test";
import { routeFromHash } from "./routes.js";

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
