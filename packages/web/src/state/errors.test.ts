import assert from "node:assert/strict";
import { test } from "node:test";
import { ParleyClientError } from "@parley/client";
import { describeError, waitText } from "./errors.js";

test("refusals become sentences a person can act on, with the time to wait", () => {
  assert.equal(describeError(new ParleyClientError("invalid_credentials")), "Wrong username or password.");
  assert.equal(
    describeError(new ParleyClientError("ip_blocked", { retryAfterMs: 300_000 })),
    "Too many failed attempts from this address. Try again in 5 min.",
  );
  assert.equal(
    describeError(new ParleyClientError("rate_limited", { retryAfterMs: 2_500 })),
    "Slow down: try again in 3 s.",
  );
  assert.equal(describeError(new ParleyClientError("username_taken")), "That username is taken.");
  assert.equal(
    describeError(new ParleyClientError("password_policy", { failedRules: ["too_short", "needs_special"] })),
    "The password is too short and needs a special character.",
  );
});

test("anything that is not a client error gets a generic sentence, never its internals", () => {
  const text = describeError(new Error("secret internal detail"));
  assert.ok(!text.includes("secret"));
});

test("waits are rounded up to seconds, then minutes", () => {
  assert.equal(waitText(1), "1 s");
  assert.equal(waitText(89_000), "89 s");
  assert.equal(waitText(90_001), "2 min");
});
