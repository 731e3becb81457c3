import assert from "node:assert/strict";
import { test } from "node:test";
import type { BenchClient } from "./clients/index.js";
import { HEADER_CHARS, nowMs, readHeader } from "./payload.js";
import { Traffic } from "./traffic.js";

/** A loopback "server": every send is delivered at once to the other members of the room. */
function room(traffic: Traffic, size: number, sentAt: number[]): BenchClient[] {
  const members: BenchClient[] = [];
  for (let i = 0; i < size; i++) {
    const me: BenchClient = {
      connect: async () => {},
      createRoom: async (name) => name,
      joinRoom: async () => {},
      send: (_key, payload) => {
        const h = readHeader(payload.slice(0, HEADER_CHARS));
        if (h) sentAt.push(nowMs() - h.sentAtMs);
        traffic.ack();
        for (const m of members) if (m !== me) traffic.delivery(payload.slice(0, HEADER_CHARS));
      },
      close: () => {},
    };
    members.push(me);
  }
  return members;
}

test("closed loop: every message reaches every other member and nothing is left over", async () => {
  const t = new Traffic(64);
  t.addRoom("r", room(t, 5, []));
  t.start({ kind: "closed", window: 2 }, 5000, 100);
  await t.drain(1000);
  const r = t.report();
  assert.equal(r.sent, 100);
  assert.equal(r.deliveries, 400);
  assert.equal(r.undelivered, 0);
  assert.equal(r.unexpected, 0);
});

test("open loop: a message leaves at its scheduled time, not one interval later", () => {
  // The pacer runs on a clock the test moves by hand, so what is judged is which messages are
  // due at a given time, never how late a busy machine ran them.
  let now = 1_000;
  let tick: () => void = () => undefined;
  const clock = {
    now: () => now,
    every: (fn: () => void) => {
      tick = fn;
      return () => {
        tick = () => undefined;
      };
    },
  };
  const t = new Traffic(64, clock);
  const stamps: number[] = [];
  const members = room(t, 2, []);
  for (const m of members) {
    const send = m.send;
    m.send = (key, payload) => {
      const h = readHeader(payload.slice(0, HEADER_CHARS));
      if (h) stamps.push(h.sentAtMs);
      send(key, payload);
    };
  }
  t.addRoom("r", members);
  t.start({ kind: "open", ratePerS: 10 }, 5000, 3);
  // 10/s is one message every 100 ms from the start: message 0 is due at once (a pacer off by
  // one would send it 100 ms late), message 1 at +100 ms, message 2 at +200 ms.
  tick();
  assert.equal(t.report().sent, 1);
  now = 1_099;
  tick();
  assert.equal(t.report().sent, 1, "message 1 left before its time");
  now = 1_100;
  tick();
  assert.equal(t.report().sent, 2);
  now = 1_500;
  tick();
  assert.equal(t.report().sent, 3, "the budget of three bounds a late tick's catch-up");
  assert.deepEqual(stamps, [1_000, 1_100, 1_200], "each message carries its scheduled time");
  t.stop();
});

test("counts a delivery nobody is waiting for as unexpected", () => {
  const t = new Traffic(64);
  t.addRoom("r", room(t, 2, []));
  t.delivery("A".repeat(HEADER_CHARS));
  assert.equal(t.report().unexpected, 1);
});
