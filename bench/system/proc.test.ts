import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import {
  parseCpuList,
  readChildPids,
  readCommandLine,
  readProcess,
  readProcessCpuNs,
  readThreadCpuNs,
} from "./proc.js";

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

test("reads the main thread's and the whole process's CPU time in ns, null for no such process", async () => {
  const main = await readThreadCpuNs(process.pid);
  const all = await readProcessCpuNs(process.pid);
  if (main !== null && all !== null) {
    assert.ok(main > 0);
    assert.ok(all >= main);
  }
  assert.equal(await readThreadCpuNs(2 ** 22 + 1), null);
  assert.equal(await readProcessCpuNs(2 ** 22 + 1), null);
});

test("lists a process's children with their command lines", async (t) => {
  if (process.platform !== "linux") return t.skip("Linux /proc only");
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)", "login-cost-probe"], {
    stdio: "ignore",
  });
  t.after(() => child.kill());
  assert.ok(child.pid !== undefined);
  assert.ok((await readChildPids(process.pid)).includes(child.pid));
  assert.match((await readCommandLine(child.pid)) ?? "", /login-cost-probe/);
  assert.equal(await readCommandLine(2 ** 22 + 1), null);
});
