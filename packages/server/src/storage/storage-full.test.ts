import assert from "node:assert/strict";
import { test } from "node:test";
import { isStorageFull } from "./storage-full.js";

test("recognises a full disk from SQLite, PostgreSQL and the file system, also as a cause", () => {
  assert.equal(
    isStorageFull(Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" })),
    true,
  );
  assert.equal(isStorageFull(Object.assign(new Error("could not extend file"), { code: "53100" })), true);
  assert.equal(isStorageFull(Object.assign(new Error("no space left on device"), { code: "ENOSPC" })), true);
  const wrapped = new Error("write failed", {
    cause: Object.assign(new Error("full"), { code: "SQLITE_FULL" }),
  });
  assert.equal(isStorageFull(wrapped), true);
});

test("does not mistake other failures for a full disk", () => {
  assert.equal(isStorageFull(Object.assign(new Error("locked"), { code: "SQLITE_BUSY" })), false);
  assert.equal(isStorageFull(Object.assign(new Error("unique"), { code: "23505" })), false);
  assert.equal(isStorageFull(new Error("anything")), false);
  assert.equal(isStorageFull("SQLITE_FULL"), false);
  assert.equal(isStorageFull(undefined), false);
});
