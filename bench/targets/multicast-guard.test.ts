import assert from "node:assert/strict";
import { test } from "node:test";
import { guardMulticast } from "./multicast-guard.js";

function fakeChild() {
  const listeners = new Set<(line: string) => void>();
  const stops: number[] = [];
  return {
    onLine(l: (line: string) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async stop(graceMs?: number) {
      stops.push(graceMs ?? -1);
    },
    say(line: string) {
      for (const l of listeners) l(line);
    },
    stops,
  };
}

test("kills a server whose configuration advertises over mDNS, before it listens", () => {
  const child = fakeChild();
  const guard = guardMulticast(child);
  child.say('{"level":30,"event":"config","config":{"PARLEY_MDNS":"on"}}');
  assert.equal(guard.refused(), true);
  assert.deepEqual(child.stops, [0]);
});

test("lets a server with mDNS off run, and ignores other lines", () => {
  const child = fakeChild();
  const guard = guardMulticast(child);
  child.say("not json");
  child.say('{"event":"listening","urls":[]}');
  child.say('{"event":"config","config":{"PARLEY_MDNS":"off"}}');
  assert.equal(guard.refused(), false);
  assert.equal(guard.seen(), "off");
  assert.deepEqual(child.stops, []);
});
