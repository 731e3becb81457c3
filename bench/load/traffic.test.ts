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

test("open loop: a message leaves at its scheduled time, not one interval later", async () => {
  const t = new Traffic(64);
  const lateness: number[] = [];
  t.addRoom("r", room(t, 2, lateness));
  t.start({ kind: "open", ratePerS: 10 }, 5000, 3);
  await new Promise((r) => setTimeout(r, 400));
  t.stop();
  assert.equal(t.report().sent, 3);
  // 10/s is one message every 100 ms: a pacer off by one sends every message 100 ms after its
  // time. A busy machine may delay some sends, so only the least late one is judged.
  const least = Math.min(...lateness);
  assert.ok(least < 50, `the least late message left ${least.toFixed(1)} ms after its scheduled time`);
});

test("counts a delivery nobody is waiting for as unexpected", () => {
  const t = new Traffic(64);
  t.addRoom("r", room(t, 2, []));
  t.delivery("A".repeat(HEADER_CHARS));
  assert.equal(t.report().unexpected, 1);
});
