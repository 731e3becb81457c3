import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { test } from "node:test";
import { canonicalJson, SERVER_POLICY_CONTEXT, type ServerPolicy } from "@parley/protocol";
import { ParleyClientError } from "./errors.js";
import {
  describePolicyChange,
  type PolicyPinStore,
  PolicyPins,
  ServerPolicyWatch,
  verifyServerPolicy,
} from "./server-policy.js";

const BASE: ServerPolicy = {
  version: 1,
  messages: { storage: "none" },
  files: { enabled: true, ttlSeconds: 86_400, maxBytes: 8 * 1024 * 1024 },
  audit: { retentionDays: 90 },
  logLevel: "info",
  ids: {
    maxFailures: 5,
    windowSeconds: 300,
    blockSeconds: 300,
    accountFreeFailures: 5,
    accountMaxDelaySeconds: 30,
  },
  registration: "open",
  requireTotp: "off",
};

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const spki = publicKey.export({ format: "der", type: "spki" });
  return { privateKey, raw: spki.subarray(spki.length - 32) };
}

function signed(
  statement: ServerPolicy,
  key: { privateKey: KeyObject; raw: Buffer },
  text = canonicalJson(statement),
) {
  return {
    statement: text,
    signature: sign(null, Buffer.from(SERVER_POLICY_CONTEXT + text), key.privateKey).toString("base64"),
    publicKey: key.raw.toString("base64"),
  };
}

function mapStore(): PolicyPinStore {
  const m = new Map<string, string>();
  return { get: async (k) => m.get(k), set: async (k, v) => void m.set(k, v) };
}

const invalid = (e: unknown) => e instanceof ParleyClientError && e.code === "policy_invalid";

test("a policy verifies only with its own key's signature over the exact text", async () => {
  const key = keyPair();
  const ok = await verifyServerPolicy(signed(BASE, key));
  assert.deepEqual(ok.statement, BASE);
  assert.match(ok.keyFingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const good = signed(BASE, key);
  await assert.rejects(
    verifyServerPolicy({ ...good, statement: good.statement.replace('"none"', '"queue"') }),
    invalid,
    "an altered statement",
  );
  await assert.rejects(verifyServerPolicy({ ...good, publicKey: keyPair().raw.toString("base64") }), invalid);
  const spaced = JSON.stringify(BASE, null, 1);
  await assert.rejects(verifyServerPolicy(signed(BASE, key, spaced)), invalid, "not canonical");
  await assert.rejects(verifyServerPolicy(signed({ ...BASE, version: 2 } as never, key)), invalid);
});

test("pins on first use, stays quiet while unchanged, and reports a change until accepted", async () => {
  const key = keyPair();
  const pins = new PolicyPins(mapStore());
  const origin = "https://parley.test:8443";
  const first = await verifyServerPolicy(signed(BASE, key));
  assert.equal((await pins.check(origin, first)).state, "first_use");
  assert.equal((await pins.check(origin, first)).state, "unchanged");
  const queued = await verifyServerPolicy(
    signed({ ...BASE, messages: { storage: "queue", ttlSeconds: 604_800 } }, key),
  );
  const change = await pins.check(origin, queued);
  assert.equal(change.state, "changed");
  assert.ok(change.state === "changed");
  assert.equal(change.keyChanged, false);
  assert.deepEqual(change.changes.map(describePolicyChange), [
    "Messages: never stored on the server → kept (ciphertext) for offline devices up to 7 days",
  ]);
  assert.equal((await pins.check(origin, queued)).state, "changed", "until the person acknowledges it");
  await pins.accept(origin, queued);
  assert.equal((await pins.check(origin, queued)).state, "unchanged");
  assert.equal((await pins.check("https://other.test", first)).state, "first_use", "pins are per server");
});

test("a new policy key is reported even when the statement is the same", async () => {
  const pins = new PolicyPins(mapStore());
  await pins.check("https://p.test", await verifyServerPolicy(signed(BASE, keyPair())));
  const check = await pins.check("https://p.test", await verifyServerPolicy(signed(BASE, keyPair())));
  assert.ok(check.state === "changed");
  assert.equal(check.keyChanged, true);
  assert.deepEqual(check.changes, []);
});

test("a policy watch warns once per change, keeps the last good check offline, and stops after accept", async () => {
  const key = keyPair();
  let answer: unknown = signed(BASE, key);
  const fetch = async () => {
    if (answer === undefined) throw new Error("connection refused");
    const text = JSON.stringify(answer);
    return { status: 200, text: async () => text } as never;
  };
  const watch = new ServerPolicyWatch({ baseUrl: "https://a.test", fetch, pins: mapStore() });
  const seen: [string | undefined, boolean][] = [];
  watch.subscribe((state, warning) => seen.push([state.check?.state, warning]));

  assert.equal((await watch.check())?.state, "first_use");
  assert.equal((await watch.check())?.state, "unchanged");
  const queued = { ...BASE, messages: { storage: "queue" as const, ttlSeconds: 604_800 } };
  answer = signed(queued, key);
  const changed = await watch.check();
  assert.equal(changed?.state, "changed");
  assert.equal((await watch.check())?.state, "changed", "still changed until accepted");
  answer = undefined;
  assert.equal(await watch.check(), undefined);
  assert.equal(watch.state.check?.state, "changed", "an unreachable server has not changed its policy");
  assert.ok(watch.state.error instanceof ParleyClientError);
  answer = signed(queued, key);
  await watch.accept();
  assert.equal((await watch.check())?.state, "unchanged");
  assert.deepEqual(seen, [
    ["first_use", false],
    ["unchanged", false],
    ["changed", true],
    ["changed", false],
    ["changed", false],
    ["unchanged", false],
    ["unchanged", false],
  ]);
});
