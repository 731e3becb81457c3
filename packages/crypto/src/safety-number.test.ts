import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { computeSafetyNumber, type SafetyNumberParty, userFingerprint } from "./safety-number.js";

const key = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 0xff);
const alice: SafetyNumberParty = { userId: "alice", identityKeys: [key(0)] };
const bob: SafetyNumberParty = { userId: "bob", identityKeys: [key(32), key(64)] };

/** Signal's NumericFingerprintGenerator.getFingerprint, written out again with node:crypto. */
function referenceFingerprint(userId: string, keys: Uint8Array[]): Buffer {
  const keyBytes = Buffer.concat([...keys].sort(Buffer.compare).map((k) => Buffer.from(k)));
  let hash = Buffer.concat([Buffer.from([0, 0]), keyBytes, Buffer.from(userId, "utf8")]);
  for (let i = 0; i < 5200; i++) hash = createHash("sha512").update(hash).update(keyBytes).digest();
  return hash;
}

describe("safety numbers", () => {
  test("match a fixed regression value", () => {
    // Computed once with this implementation and cross-checked by the reference test below.
    const sn = computeSafetyNumber(alice, bob);
    assert.equal(sn.digits, "309956685010881989143608686589175743256391837427668179285862");
    assert.deepEqual(sn.groups, [
      "30995",
      "66850",
      "10881",
      "98914",
      "36086",
      "86589",
      "17574",
      "32563",
      "91837",
      "42766",
      "81792",
      "85862",
    ]);
    assert.equal(
      sn.qrPayloadBase64,
      "Ab6wK49Tx84u0iJFEEUnIYTEnmjCs4HoYTZHW3a+Ha8OQ3WwnMYHPABvc6ZN9s/d3m8y1+4NjdFXwDMwNiEGeDY=",
    );
  });

  test("follow Signal's iterated SHA-512 construction", () => {
    for (const p of [alice, bob]) {
      assert.deepEqual(Buffer.from(userFingerprint(p)), referenceFingerprint(p.userId, [...p.identityKeys]));
    }
    const h = referenceFingerprint("alice", [key(0)]);
    const chunk = (o: number) => String(h.readUIntBE(o, 5) % 100000).padStart(5, "0");
    assert.equal(
      computeSafetyNumber(alice, bob).digits.slice(0, 30),
      [0, 5, 10, 15, 20, 25].map(chunk).join(""),
    );
  });

  test("are the same whichever side computes them", () => {
    const ab = computeSafetyNumber(alice, bob);
    const ba = computeSafetyNumber(bob, alice);
    assert.equal(ab.digits, ba.digits);
    assert.deepEqual(ab.qrPayload, ba.qrPayload);
    assert.equal(ab.qrPayloadBase64, ba.qrPayloadBase64);
  });

  test("do not depend on the order of a user's device keys", () => {
    const reordered = { userId: "bob", identityKeys: [key(64), key(32)] };
    assert.equal(computeSafetyNumber(alice, reordered).digits, computeSafetyNumber(alice, bob).digits);
  });

  test("change when any identity key changes, is added or is removed", () => {
    const base = computeSafetyNumber(alice, bob);
    const variants: SafetyNumberParty[][] = [
      [{ userId: "alice", identityKeys: [key(1)] }, bob],
      [alice, { userId: "bob", identityKeys: [key(32)] }],
      [alice, { userId: "bob", identityKeys: [key(32), key(64), key(96)] }],
      [alice, { userId: "bob", identityKeys: [key(32), key(65)] }],
    ];
    for (const [a, b] of variants) {
      const other = computeSafetyNumber(a!, b!);
      assert.notEqual(other.digits, base.digits);
      assert.notEqual(other.qrPayloadBase64, base.qrPayloadBase64);
    }
    // Only the changed user's half moves.
    const changed = computeSafetyNumber({ userId: "alice", identityKeys: [key(1)] }, bob);
    assert.notEqual(changed.digits.slice(0, 30), base.digits.slice(0, 30));
    assert.equal(changed.digits.slice(30), base.digits.slice(30));
  });

  test("change when the user id changes", () => {
    const other = computeSafetyNumber({ userId: "alicia", identityKeys: [key(0)] }, bob);
    assert.notEqual(other.digits, computeSafetyNumber(alice, bob).digits);
  });

  test("reject misuse", () => {
    assert.throws(() => computeSafetyNumber(alice, { userId: "alice", identityKeys: [key(5)] }), RangeError);
    assert.throws(() => computeSafetyNumber(alice, { userId: "bob", identityKeys: [] }), RangeError);
    assert.throws(
      () => computeSafetyNumber(alice, { userId: "bob", identityKeys: [new Uint8Array(31)] }),
      RangeError,
    );
    assert.throws(
      () => computeSafetyNumber(alice, { userId: "bob", identityKeys: [key(3), key(3)] }),
      RangeError,
    );
  });
});
