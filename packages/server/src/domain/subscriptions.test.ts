import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeSink } from "../bus/bus-contract.js";
import { MemoryBus } from "../bus/memory-bus.js";
import { ParleyError } from "./errors.js";
import { asUserId } from "./ids.js";
import { SubscriptionService } from "./subscriptions.js";
import { addUser, tempStorage } from "./test-support.js";

const code = (c: string) => (e: unknown) => e instanceof ParleyError && e.code === c;

describe("SubscriptionService", () => {
  test("follows and unfollows, announcing each change once on the bus (SUB-1)", async (t) => {
    const storage = await tempStorage(t);
    const bus = new MemoryBus();
    const sink = new FakeSink(bus);
    const subs = new SubscriptionService(storage, bus);
    const alice = await addUser(storage, "alice");
    const bob = await addUser(storage, "bob");
    await subs.subscribe(bob, alice.userId);
    assert.deepEqual(await subs.followersOf(alice.userId), [bob.userId]);
    assert.deepEqual(await subs.list(bob), [{ id: "u-alice", username: "alice" }]);
    await subs.unsubscribe(bob, alice.userId);
    assert.deepEqual(await subs.followersOf(alice.userId), [], "the cached list was dropped");
    assert.deepEqual(sink.controls, [
      { type: "subscriptions.changed", userId: alice.userId },
      { type: "subscriptions.changed", userId: alice.userId },
    ]);
  });

  test("refuses following oneself or nobody", async (t) => {
    const storage = await tempStorage(t);
    const bus = new MemoryBus();
    const sink = new FakeSink(bus);
    const subs = new SubscriptionService(storage, bus);
    const alice = await addUser(storage, "alice");
    await assert.rejects(subs.subscribe(alice, alice.userId), code("invalid_target"));
    await assert.rejects(subs.subscribe(alice, asUserId("u-nobody")), code("user_not_found"));
    assert.deepEqual(sink.controls, []);
  });

  test("answers from its cache until another server announces a change", async (t) => {
    const storage = await tempStorage(t);
    const subs = new SubscriptionService(storage, new MemoryBus());
    const alice = await addUser(storage, "alice");
    const bob = await addUser(storage, "bob");
    assert.deepEqual(await subs.followersOf(alice.userId), []);
    // Another server wrote it: this one learns through the bus's control event.
    await storage.addSubscription(bob.userId, alice.userId, 0);
    assert.deepEqual(await subs.followersOf(alice.userId), []);
    subs.invalidate(alice.userId);
    assert.deepEqual(await subs.followersOf(alice.userId), [bob.userId]);
  });
});
