import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStore } from "../store.js";
import { roomView } from "../testing/rooms.js";
import { HISTORY_LIMIT, History } from "./history.js";
import type { ChatMessage } from "./types.js";

const msg = (roomId: string, n: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  key: `${roomId}-${n}`,
  roomId,
  fromId: "u1",
  fromName: "alice",
  ts: 1_700_000_000_000 + n,
  text: `message ${n}`,
  own: false,
  ...extra,
});

test("kept history round-trips per conversation, without messages still being sent", async () => {
  const store = new MemoryStore();
  const h = new History(store);
  h.save("AAAAAA", [msg("AAAAAA", 1), msg("AAAAAA", 2, { own: true, status: "sending" })]);
  h.save("BBBBBB", [msg("BBBBBB", 1)]);
  await h.flush();
  const loaded = await new History(store).loadAll();
  assert.deepEqual(Object.keys(loaded).sort(), ["AAAAAA", "BBBBBB"]);
  assert.deepEqual(
    loaded.AAAAAA?.map((m) => m.key),
    ["AAAAAA-1"],
  );
});

test("at most HISTORY_LIMIT messages per conversation, the newest", async () => {
  const store = new MemoryStore();
  const h = new History(store);
  h.save(
    "AAAAAA",
    Array.from({ length: HISTORY_LIMIT + 5 }, (_, i) => msg("AAAAAA", i)),
  );
  await h.flush();
  const list = (await h.loadAll()).AAAAAA ?? [];
  assert.equal(list.length, HISTORY_LIMIT);
  assert.equal(list[0]?.key, "AAAAAA-5");
});

test("remove and clear delete what was kept, and a damaged value loads as nothing", async () => {
  const store = new MemoryStore();
  const h = new History(store);
  h.save("AAAAAA", [msg("AAAAAA", 1)]);
  h.save("BBBBBB", [msg("BBBBBB", 1)]);
  await h.flush();
  await h.remove("AAAAAA");
  assert.deepEqual(Object.keys(await h.loadAll()), ["BBBBBB"]);
  await store.put("history/room/BBBBBB", new TextEncoder().encode("{not json"));
  assert.deepEqual(await h.loadAll(), {});
  await h.clear();
  assert.deepEqual(store.keys(), []);
});

test("saveNow resolves once the conversation is stored", async () => {
  const store = new MemoryStore();
  const h = new History(store);
  await h.saveNow("AAAAAA", [msg("AAAAAA", 1)]);
  assert.deepEqual(
    (await new History(store).loadAll()).AAAAAA?.map((m) => m.key),
    ["AAAAAA-1"],
  );
});

test("keeps unread counts and disappearing timers beside the messages, and clear removes them", async () => {
  const store = new MemoryStore();
  const h = new History(store);
  h.saveRooms({ unread: { AAAAAA: 3 }, disappearing: { AAAAAA: 3_600 } });
  await h.flush();
  assert.deepEqual(await new History(store).loadRooms(), {
    unread: { AAAAAA: 3 },
    disappearing: { AAAAAA: 3_600 },
    deviceNotes: [],
  });
  await store.put("history/rooms", new TextEncoder().encode('{"unread":{"A":-1,"B":"x","C":2}}'));
  assert.deepEqual(await h.loadRooms(), { unread: { C: 2 }, disappearing: {}, deviceNotes: [] });
  await h.clear();
  assert.equal(await h.loadRooms(), undefined);
  assert.deepEqual(store.keys(), []);
});

test("writes a changed unread count without waiting for the next batch", async () => {
  const store = new MemoryStore();
  const h = new History(store);
  h.saveRooms({ unread: { AAAAAA: 0 }, disappearing: {} });
  // No flush: only the turn of the event loop that follows.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(await new History(store).loadRooms(), {
    unread: { AAAAAA: 0 },
    disappearing: {},
    deviceNotes: [],
  });
});

test("keeps the device lines beside the messages, and drops malformed ones", async () => {
  const store = new MemoryStore();
  const h = new History(store);
  const added = { userId: "bob", deviceId: "phone", kind: "added" as const, at: 5 };
  const removed = { userId: "bob", deviceId: "phone", kind: "removed" as const, at: 9 };
  h.saveRooms({ unread: {}, disappearing: {}, deviceNotes: [added, removed] });
  await h.flush();
  assert.deepEqual((await new History(store).loadRooms())?.deviceNotes, [added, removed]);
  const broken = [{ ...added, kind: "changed" }, { ...added, at: "5" }, { userId: 1 }, null, removed];
  await store.put("history/rooms", new TextEncoder().encode(JSON.stringify({ deviceNotes: broken })));
  assert.deepEqual((await h.loadRooms())?.deviceNotes, [removed]);
});

test("keeps the conversation list and each direct one's person, and drops malformed ones", async () => {
  const store = new MemoryStore();
  const h = new History(store);
  const team = roomView("TEAM01", "team");
  const direct = roomView("DBOB01", "", "direct");
  const bob = { id: "u-bob", username: "bob" };
  h.saveRooms({ unread: {}, disappearing: {}, rooms: [team, direct], peers: { DBOB01: bob } });
  await h.flush();
  const kept = await new History(store).loadRooms();
  assert.deepEqual(kept?.rooms, [team, direct]);
  assert.deepEqual(kept?.peers, { DBOB01: bob });
  const broken = {
    rooms: [{ ...team, kind: "channel" }, { id: "X" }, null, direct],
    peers: { A: { id: 1, username: "x" }, B: null, DBOB01: bob },
  };
  await store.put("history/rooms", new TextEncoder().encode(JSON.stringify(broken)));
  const loaded = await h.loadRooms();
  assert.deepEqual(loaded?.rooms, [direct]);
  assert.deepEqual(loaded?.peers, { DBOB01: bob });
});
