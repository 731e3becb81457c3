import assert from "node:assert/strict";
import { test } from "node:test";
import { computeSafetyNumber } from "@parley/crypto";
import { compareSafetyCode, safetyCodeText } from "./safety-code.js";

const key = (n: number) => new Uint8Array(32).fill(n);
const alice = { userId: "alice", identityKeys: [key(1)] };
const bob = { userId: "bob", identityKeys: [key(2)] };
const carol = { userId: "carol", identityKeys: [key(3)] };

test("a code scanned from the other side of the same pair matches", () => {
  const onAlicesScreen = computeSafetyNumber(alice, bob);
  const onBobsScreen = computeSafetyNumber(bob, alice);
  const scanned = safetyCodeText(onBobsScreen.qrPayloadBase64);
  assert.equal(compareSafetyCode(scanned, onAlicesScreen.qrPayloadBase64), "match");
});

test("a code of another pair, or of swapped keys, does not match", () => {
  const shown = computeSafetyNumber(alice, bob).qrPayloadBase64;
  const otherPair = safetyCodeText(computeSafetyNumber(alice, carol).qrPayloadBase64);
  assert.equal(compareSafetyCode(otherPair, shown), "mismatch");
  const swapped = computeSafetyNumber(alice, { userId: "bob", identityKeys: [key(9)] });
  assert.equal(compareSafetyCode(safetyCodeText(swapped.qrPayloadBase64), shown), "mismatch");
});

test("a QR code that is not a safety code is told apart from a mismatch", () => {
  const shown = computeSafetyNumber(alice, bob).qrPayloadBase64;
  assert.equal(compareSafetyCode("https://example.org/", shown), "not-a-safety-code");
  assert.equal(compareSafetyCode("parley-sn:", shown), "not-a-safety-code");
  assert.equal(compareSafetyCode("", shown), "not-a-safety-code");
});
