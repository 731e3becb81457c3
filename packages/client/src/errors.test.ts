import assert from "node:assert/strict";
import { test } from "node:test";
import { fromErrorBody } from "./errors.js";

test("fromErrorBody keeps the code, wait time and every failed password rule", () => {
  const e = fromErrorBody(
    {
      code: "password_policy",
      message: "The password does not meet the policy.",
      failedRules: ["too_short", 7, "needs_special"],
    },
    400,
  );
  assert.equal(e.code, "password_policy");
  assert.equal(e.status, 400);
  assert.deepEqual(e.failedRules, ["too_short", "needs_special"]);
  const blocked = fromErrorBody({ code: "ip_blocked", message: "blocked", retryAfterMs: 300_000 }, 403);
  assert.equal(blocked.retryAfterMs, 300_000);
  assert.equal(blocked.failedRules, undefined);
});

test("fromErrorBody turns an unknown code or a non-object into unexpected_answer", () => {
  assert.equal(fromErrorBody({ code: "no_such_code" }).code, "unexpected_answer");
  assert.equal(fromErrorBody("oops").code, "unexpected_answer");
});
