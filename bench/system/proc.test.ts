import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCpuList, readProcess } from "./proc.js";

test("parses the kernel's cpu list format", () => {
  assert.deepEqual(parseCpuList("0-2,5\n"), [0, 1, 2, 5]);
  assert.deepEqual(parseCpuList("3"), [3]);
});

test("reads this process's CPU time and RSS, and null for a process that does not exist", async () => {
  const me = await readProcess(process.pid);
  if (me) {
    assert.ok(me.rssBytes > 0);
    assert.ok(me.cpuMs >= 0);
  }
  assert.equal(await readProcess(2 ** 22 + 1), null);
});
