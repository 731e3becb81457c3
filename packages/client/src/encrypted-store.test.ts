import assert from "node:assert/strict";
import { test } from "node:test";
import { EncryptedStore } from "./encrypted-store.js";
import { isParleyClientError } from "./errors.js";
import { MemoryStore } from "./store.js";

const key = () => Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const bytes = (s: string) => new TextEncoder().encode(s);
const contains = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).includes(Buffer.from(needle));

test("values round-trip and are not readable in the inner store", async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, key());
  const secret = bytes("group secret CANARY-1234 group secret");
  await store.put("group/ABCDEF", secret);
  assert.deepEqual(await store.get("group/ABCDEF"), secret);
  const raw = inner.raw("group/ABCDEF")!;
  assert.equal(raw.length, 1 + 24 + secret.length + 16);
  assert.equal(contains(raw, bytes("CANARY-1234")), false);
});

test("a missing key reads as undefined, and delete removes a value", async () => {
  const store = new EncryptedStore(new MemoryStore(), key());
  assert.equal(await store.get("nope"), undefined);
  await store.put("k", bytes("v"));
  await store.delete("k");
  assert.equal(await store.get("k"), undefined);
});

test("the same value is sealed under a fresh nonce each time", async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, key());
  await store.put("a", bytes("same"));
  const first = inner.raw("a")!.slice();
  await store.put("a", bytes("same"));
  assert.notDeepEqual(inner.raw("a"), first);
});

test("any altered byte fails with store_tampered", async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, key());
  await store.put("k", bytes("some value"));
  const sealed = inner.raw("k")!.slice();
  for (let i = 0; i < sealed.length; i++) {
    const altered = sealed.slice();
    altered[i]! ^= 0x01;
    await inner.put("k", altered);
    await assert.rejects(store.get("k"), (e) => isParleyClientError(e, "store_tampered"), `byte ${i}`);
  }
});

test("a truncated or empty value fails with store_tampered", async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, key());
  await store.put("k", bytes("some value"));
  const sealed = inner.raw("k")!;
  for (const bad of [new Uint8Array(0), sealed.subarray(0, 30), sealed.subarray(0, sealed.length - 1)]) {
    await inner.put("k", bad);
    await assert.rejects(store.get("k"), (e) => isParleyClientError(e, "store_tampered"));
  }
});

test("a value moved under another key fails with store_tampered", async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, key());
  await store.put("pins/alice", bytes("alice's pins"));
  await inner.put("pins/bob", inner.raw("pins/alice")!);
  await assert.rejects(store.get("pins/bob"), (e) => isParleyClientError(e, "store_tampered"));
});

test("another key cannot open the values", async () => {
  const inner = new MemoryStore();
  await new EncryptedStore(inner, key()).put("k", bytes("v"));
  const other = key();
  other[0] = 0xee;
  await assert.rejects(new EncryptedStore(inner, other).get("k"), (e) =>
    isParleyClientError(e, "store_tampered"),
  );
});

test("destroy wipes the key", async () => {
  const inner = new MemoryStore();
  const k = key();
  const store = new EncryptedStore(inner, k);
  await store.put("k", bytes("v"));
  store.destroy();
  await assert.rejects(store.get("k"), (e) => isParleyClientError(e, "store_tampered"));
  assert.deepEqual(k, key(), "the caller's key array is copied, not taken over");
});

test("a key that is not 32 bytes is refused", () => {
  assert.throws(() => new EncryptedStore(new MemoryStore(), new Uint8Array(16)), RangeError);
  assert.throws(
    () => new EncryptedStore(new MemoryStore(), "k".repeat(32) as unknown as Uint8Array),
    TypeError,
  );
});
