import assert from "node:assert/strict";
import { test } from "node:test";
import { checkPassword, PASSWORD_POLICIES } from "./password-policy.js";
import { PASSWORD_RULES, passwordRefusal, passwordRuleFailure } from "./password-rules.js";

test("a refusal names every failed rule, with the policy's figures when they are known", () => {
  const policy = PASSWORD_POLICIES.default;
  const verdict = checkPassword("zq8kw", "alice", policy);
  assert.deepEqual(verdict.failed, ["too_short", "needs_uppercase", "needs_special"]);
  assert.equal(
    passwordRefusal(verdict.failed, policy),
    `The password is shorter than ${policy.minLength} characters, needs an uppercase letter and needs a special character.`,
  );
  assert.equal(passwordRefusal(["common_password"]), "The password is a commonly used password.");
  assert.equal(passwordRefusal([]), "The password does not meet the policy.");
});

test("every rule has its own wording, and an unknown id from a newer server is shown as it is", () => {
  const said = PASSWORD_RULES.map((r) => passwordRuleFailure(r));
  assert.equal(new Set(said).size, PASSWORD_RULES.length);
  for (const [i, text] of said.entries()) assert.notEqual(text, PASSWORD_RULES[i]);
  assert.equal(passwordRuleFailure("needs_emoji"), "needs_emoji");
});
