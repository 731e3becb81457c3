import assert from "node:assert/strict";
import { test } from "node:test";
import { PROTOCOL_VERSION } from "./index.js";

test("exposes a positive integer protocol version", () => {
  assert.ok(Number.isInteger(PROTOCOL_VERSION) && PROTOCOL_VERSION > 0);
});
