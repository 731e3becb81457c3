import assert from "node:assert/strict";
import { test } from "node:test";
import { openSqliteStorage } from "../storage/sqlite.js";
import type { Storage } from "../storage/storage.js";
import { asRoomId, asUserId } from "./ids.js";
import { MembershipCache } from "./membership-cache.js";

test("a load that raced with a membership change does not cache the stale member list", async () => {
  const storage = await openSqliteStorage(":memory:");
  try {
    const alice = asUserId("alice-id");
    const bob = asUserId("bob-id");
    for (const id of [alice, bob]) {
      await storage.createUser({ id, username: id, passwordHash: "x", isAdmin: false, createdAt: 1 });
    }
    const roomId = asRoomId("ABCDEF");
    await storage.createRoom({
      id: roomId,
      kind: "room",
      name: "r",
      topic: null,
      isPublic: true,
      ownerId: alice,
      pairKey: null,
      createdAt: 1,
    });
    await storage.addMember(roomId, alice, "owner", 1);
    await storage.addMember(roomId, bob, "member", 1);

    // Each listMembers call reads the real list, then stalls until the test releases it.
    const gates: (() => void)[] = [];
    const gated = {
      findRoom: (id: typeof roomId) => storage.findRoom(id),
      listMembers: async (id: typeof roomId) => {
        const members = await storage.listMembers(id);
        await new Promise<void>((resolve) => gates.push(resolve));
        return members;
      },
    } as Pick<Storage, "findRoom" | "listMembers"> as Storage;
    const until = async (n: number) => {
      while (gates.length < n) await new Promise((resolve) => setImmediate(resolve));
    };

    const cache = new MembershipCache(gated);
    const stale = cache.load(roomId);
    await until(1);
    // Bob is removed while the first load is in flight; a second load starts.
    await storage.removeMember(roomId, bob);
    cache.invalidate(roomId);
    const fresh = cache.load(roomId);
    await until(2);

    // The stale load finishes first, while the fresh one is still running.
    gates[0]?.();
    assert.deepEqual((await stale)?.list.slice().sort(), [alice, bob].sort());
    gates[1]?.();
    assert.deepEqual((await fresh)?.list, [alice]);
    assert.deepEqual(cache.peek(roomId)?.list, [alice], "the cache holds the fresh list, not the stale one");
  } finally {
    await storage.close();
  }
});
