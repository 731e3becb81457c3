// Scheduler: background work that the connection cut short waits for the next one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ParleyClientError } from "./errors.js";
import { defaultTimers } from "./platform.js";
import { Scheduler } from "./scheduler.js";

/** Lets the 0 ms timers that are due fire, and the promises they start settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

function setUp() {
  const errors: string[] = [];
  const scheduler = new Scheduler(defaultTimers, (e) =>
    errors.push(e instanceof ParleyClientError ? e.code : String(e)),
  );
  return { errors, scheduler };
}

test("a task the connection cut short is not reported and runs again on the next connection", async () => {
  const { errors, scheduler } = setUp();
  let runs = 0;
  scheduler.later(0, async () => {
    runs++;
    if (runs === 1) throw new ParleyClientError("connection_lost");
  });
  await settle();
  assert.equal(runs, 1);
  assert.deepEqual(errors, []);
  assert.equal(scheduler.parked, 1);
  scheduler.resume();
  await settle();
  assert.equal(runs, 2);
  assert.equal(scheduler.parked, 0);
  assert.deepEqual(errors, []);
});

test("a task that keeps losing the connection is reported after its last resume", async () => {
  const { errors, scheduler } = setUp();
  let runs = 0;
  scheduler.later(0, async () => {
    runs++;
    throw new ParleyClientError("not_connected");
  });
  await settle();
  for (let i = 0; i < 3; i++) {
    scheduler.resume();
    await settle();
  }
  assert.equal(runs, 4);
  assert.deepEqual(errors, ["not_connected"]);
  scheduler.resume();
  await settle();
  assert.equal(runs, 4, "given up: it does not run again");
});

test("any other failure is reported at once and not run again", async () => {
  const { errors, scheduler } = setUp();
  let runs = 0;
  scheduler.later(0, async () => {
    runs++;
    throw new ParleyClientError("forbidden");
  });
  await settle();
  scheduler.resume();
  await settle();
  assert.equal(runs, 1);
  assert.deepEqual(errors, ["forbidden"]);
});

test("closing forgets the waiting tasks, and a closed client reports no lost connection", async () => {
  const { errors, scheduler } = setUp();
  let runs = 0;
  scheduler.later(0, async () => {
    runs++;
    throw new ParleyClientError("connection_lost");
  });
  await settle();
  scheduler.close();
  scheduler.open();
  scheduler.resume();
  await settle();
  assert.equal(runs, 1);
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let late = 0;
  scheduler.later(0, async () => {
    late++;
    await gate;
    throw new ParleyClientError("closed");
  });
  await settle();
  scheduler.close();
  release();
  await settle();
  assert.equal(late, 1);
  assert.deepEqual(errors, []);
});
