import assert from "node:assert/strict";
import { test } from "node:test";
import { CRYPTO_ERRORS } from "@parley/crypto";
import { CLIENT_ACTIONS, ERRORS } from "@parley/protocol";
import { CLIENT_ERRORS, clientAction, fromErrorBody } from "./errors.js";

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

test("no code is in two registries, so a code names one failure whichever layer reports it", () => {
  const registries: Record<string, readonly string[]> = {
    "@parley/protocol ERRORS": Object.keys(ERRORS),
    "@parley/crypto CRYPTO_ERRORS": Object.keys(CRYPTO_ERRORS),
    "@parley/client CLIENT_ERRORS": Object.keys(CLIENT_ERRORS),
  };
  const owners = new Map<string, string[]>();
  for (const [registry, codes] of Object.entries(registries)) {
    for (const code of codes) owners.set(code, [...(owners.get(code) ?? []), registry]);
  }
  const shared = [...owners]
    .filter(([, where]) => where.length > 1)
    .map(([code, where]) => `${code}: ${where.join(", ")}`);
  assert.deepEqual(shared, []);
});

test("every code has a client action, and the SDK reads it from the code's own registry", () => {
  for (const [code, entry] of Object.entries(ERRORS)) {
    assert.ok(CLIENT_ACTIONS.includes(entry.client), code);
    assert.equal(clientAction(code), entry.client, code);
  }
  for (const [code, entry] of Object.entries(CLIENT_ERRORS)) {
    assert.ok(CLIENT_ACTIONS.includes(entry.client), code);
    assert.equal(clientAction(code), entry.client, code);
  }
  for (const code of Object.keys(CRYPTO_ERRORS)) assert.equal(clientAction(code), "report", code);
  assert.equal(clientAction("close_1006"), undefined);
  assert.equal(clientAction("__proto__"), undefined);
});
