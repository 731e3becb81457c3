import assert from "node:assert/strict";
import { test } from "node:test";
import type { GeneratorPool } from "../load/generator-pool.js";
import type { RunningServer } from "../targets/target.js";
import { TARGETS } from "../targets/target.js";
import { roomSetups, shareOf } from "./layout.js";
import type { BenchContext } from "./types.js";

const server = {
  target: TARGETS["ws-relay"],
  pid: 1,
  wsUrl: "ws://127.0.0.1:1/ws",
  httpUrl: "http://127.0.0.1:1",
  openFiles: 1024,
} as unknown as RunningServer;

function ctxWith(processes: number): BenchContext {
  return {
    pool: { size: processes } as unknown as GeneratorPool,
    sourceAddresses: ["127.0.0.1", "127.0.0.2"],
    accounts: { users: [] },
  } as unknown as BenchContext;
}

test("never splits a room across generator processes and uses every client once", () => {
  const setups = roomSetups(ctxWith(3), server, {
    clients: 100,
    roomSize: 10,
    payloadBytes: 256,
    roomPrefix: "t",
  });
  assert.equal(
    setups.reduce((n, s) => n + s.rooms.length, 0),
    10,
  );
  for (const s of setups) {
    const members = s.rooms.flat();
    assert.equal(new Set(members).size, members.length);
    assert.equal(members.length, s.identities.length);
    for (const room of s.rooms) assert.equal(room.length, 10);
  }
});

test("deals idle clients round-robin", () => {
  assert.deepEqual(
    [0, 1, 2].map((p) => shareOf(10, p, 3)),
    [4, 3, 3],
  );
  assert.deepEqual(
    [0, 1, 2].map((p) => shareOf(1, p, 3)),
    [1, 0, 0],
  );
});

test("alternates each room's members between the nodes of a multi-node target, with its own accounts", () => {
  const users = Array.from({ length: 20 }, (_, i) => ({ accessToken: `t${i}` }));
  const cluster = {
    ...server,
    target: TARGETS["parley-cluster"],
    nodes: [
      { pid: 1, wsUrl: "ws://127.0.0.1:1/ws", httpUrl: "http://127.0.0.1:1" },
      { pid: 2, wsUrl: "ws://127.0.0.1:2/ws", httpUrl: "http://127.0.0.1:2" },
    ],
    accounts: { users },
  } as unknown as RunningServer;
  const setups = roomSetups(ctxWith(1), cluster, {
    clients: 20,
    roomSize: 10,
    payloadBytes: 256,
    roomPrefix: "c",
  });
  const s = setups[0] as (typeof setups)[number];
  for (const room of s.rooms) {
    const urls = room.map((m) => s.identities[m]?.url);
    assert.equal(urls.filter((u) => u === "ws://127.0.0.1:1/ws").length, 5);
    assert.equal(urls.filter((u) => u === "ws://127.0.0.1:2/ws").length, 5);
  }
  assert.deepEqual(
    s.identities.map((id) => id.token),
    users.map((u) => u.accessToken),
  );
});

test("gives clients of a one-node target no URL of their own", () => {
  const setups = roomSetups(ctxWith(1), server, {
    clients: 10,
    roomSize: 10,
    payloadBytes: 256,
    roomPrefix: "t",
  });
  assert.ok(setups[0]?.identities.every((id) => id.url === undefined));
});
