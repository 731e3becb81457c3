import assert from "node:assert/strict";
import { test } from "node:test";
import { computeSafetyNumber } from "@parley/crypto";
import { safetyNumberRows } from "./safety-layout.js";

test("a safety number reads as 3 rows of 4 groups, in order", () => {
  const sn = computeSafetyNumber(
    { userId: "alice", identityKeys: [new Uint8Array(32).fill(1)] },
    { userId: "bob", identityKeys: [new Uint8Array(32).fill(2)] },
  );
  const rows = safetyNumberRows(sn.groups);
  assert.deepEqual(
    rows.map((r) => r.split(" ").length),
    [4, 4, 4],
  );
  assert.equal(rows.join(" "), sn.groups.join(" "));
});
