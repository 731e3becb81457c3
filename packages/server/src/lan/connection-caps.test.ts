import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectionCaps } from "./connection-caps.js";

test("refuses the connection over the per-address cap, and admits it again once one closes", () => {
  const caps = new ConnectionCaps({ maxTotal: 100, maxPerIp: 2 });
  assert.equal(caps.admit("10.0.0.5"), undefined);
  assert.equal(caps.admit("10.0.0.5"), undefined);
  assert.equal(caps.admit("10.0.0.5"), "per_ip");
  assert.equal(caps.admit("10.0.0.6"), undefined, "another address is not affected");
  assert.equal(caps.from("10.0.0.5"), 2, "a refused connection is not counted");
  caps.release("10.0.0.5");
  assert.equal(caps.admit("10.0.0.5"), undefined);
  assert.equal(caps.total, 3);
});

test("refuses every address once the total is reached", () => {
  const caps = new ConnectionCaps({ maxTotal: 3, maxPerIp: 10 });
  for (const ip of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) assert.equal(caps.admit(ip), undefined);
  assert.equal(caps.admit("10.0.0.4"), "global");
  caps.release("10.0.0.2");
  assert.equal(caps.admit("10.0.0.4"), undefined);
});

test("does not cap an exempt peer per address, but still counts it in the total", () => {
  const caps = new ConnectionCaps({ maxTotal: 4, maxPerIp: 1, exempt: (ip) => ip === "10.0.0.9" });
  for (let i = 0; i < 4; i++) assert.equal(caps.admit("10.0.0.9"), undefined);
  assert.equal(caps.admit("10.0.0.9"), "global");
  assert.equal(caps.admit("10.0.0.1"), "global");
  for (let i = 0; i < 4; i++) caps.release("10.0.0.9");
  assert.equal(caps.total, 0);
  assert.equal(caps.from("10.0.0.9"), 0);
});
