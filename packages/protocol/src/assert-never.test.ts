import assert from "node:assert/strict";
import { test } from "node:test";
import { assertNever } from "./assert-never.js";

test("assertNever throws a TypeError naming the value it was given", () => {
  assert.throws(() => assertNever({ type: "new.kind" } as never), {
    name: "TypeError",
    message: /new\.kind/,
  });
  assert.throws(() => assertNever(5n as never), { name: "TypeError", message: /5/ });
  assert.throws(() => assertNever(undefined as never), { name: "TypeError", message: /undefined/ });
});
