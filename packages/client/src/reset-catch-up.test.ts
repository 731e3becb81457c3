import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { utf8ToBytes } from "@noble/ciphers/utils.js";
import { ParleyClientError } from "./errors.js";
import { RESETS_SEEN_KEY, ResetCatchUp } from "./reset-catch-up.js";
import { MemoryStore } from "./store.js";

function catchUp(store: MemoryStore, answer: (since: number) => readonly string[]) {
  const asked: number[] = [];
  const checked: string[] = [];
  const failAt = new Set<string>();
  const c = new ResetCatchUp({
    store,
    list: async (since) => {
      asked.push(since);
      return answer(since);
    },
    check: async (userId) => {
      if (failAt.has(userId)) throw new ParleyClientError("not_connected");
      checked.push(userId);
    },
  });
  return { c, asked, checked, failAt };
}

describe("ResetCatchUp (IDENT-4 hints missed while away)", () => {
  it("asks nothing on a device's first connection, and from then on since the last one", async () => {
    const store = new MemoryStore();
    const { c, asked, checked } = catchUp(store, () => ["bob", "carol"]);
    await c.connected(1_000);
    assert.deepEqual(asked, [], "a new device has nobody pinned and nothing to catch up on");
    await c.connected(5_000);
    await c.connected(9_000);
    assert.deepEqual(asked, [1_000, 5_000]);
    assert.deepEqual(checked, ["bob", "carol", "bob", "carol"], "each person named, one after another");
  });

  it("keeps the time of the connection whose look-ups the connection cut short, and asks again", async () => {
    const store = new MemoryStore();
    const { c, asked, checked, failAt } = catchUp(store, () => ["bob", "carol"]);
    await c.connected(1_000);
    failAt.add("carol");
    await assert.rejects(c.connected(5_000), (e) => e instanceof ParleyClientError);
    failAt.clear();
    await c.connected(9_000);
    assert.deepEqual(asked, [1_000, 1_000]);
    assert.deepEqual(checked, ["bob", "bob", "carol"]);
  });

  it("never moves its time backwards (a server whose clock is behind)", async () => {
    const store = new MemoryStore();
    const { c, asked } = catchUp(store, () => []);
    await c.connected(9_000);
    await c.connected(4_000);
    await c.connected(10_000);
    assert.deepEqual(asked, [9_000, 9_000]);
  });

  it("treats an unreadable stored time as a first connection", async () => {
    for (const junk of ["", "soon", "-5", "1e400", "12.5"]) {
      const store = new MemoryStore();
      await store.put(RESETS_SEEN_KEY, utf8ToBytes(junk));
      const { c, asked } = catchUp(store, () => ["bob"]);
      await c.connected(7_000);
      await c.connected(8_000);
      assert.deepEqual(asked, [7_000], `stored ${JSON.stringify(junk)}`);
    }
  });
});
