import assert from "node:assert/strict";
import { test } from "node:test";
import { fingerprintRows } from "./fingerprint-rows.js";

const FP = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE";

test("a fingerprint after its label, in rows of whole bytes aligned under the first", () => {
  assert.deepEqual(fingerprintRows("  pinned:  ", FP), [
    "  pinned:  AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
    "           10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE",
  ]);
  for (const row of fingerprintRows("presented: ", FP)) assert.ok(row.length <= 80);
});
