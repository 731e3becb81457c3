import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  chunkCount,
  chunkLength,
  FILE_CHUNK_BYTES,
  FILE_SEALED_CHUNK_BYTES,
  fileHasher,
  newFileKey,
  openChunk,
  sealChunk,
  sealedSize,
} from "./attachment.js";
import { isParleyCryptoError } from "./errors.js";

const refused = (e: unknown) => isParleyCryptoError(e) && e.code === "authentication_failed";

function chunks(size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < chunkCount(size); i++) out.push(new Uint8Array(chunkLength(size, i)).fill(i + 1));
  return out;
}

describe("attachment chunks", () => {
  it("seals and opens every chunk of a file, the last one marked", () => {
    const key = newFileKey();
    const parts = chunks(3 * FILE_CHUNK_BYTES + 5);
    const sealed = parts.map((c, i) => sealChunk(key, i, i === parts.length - 1, c));
    assert.equal(
      sealed.reduce((n, s) => n + s.length, 0),
      sealedSize(3 * FILE_CHUNK_BYTES + 5),
    );
    sealed.forEach((s, i) => {
      assert.deepEqual(openChunk(key, i, i === parts.length - 1, s), parts[i]);
    });
  });

  it("counts an empty file as one empty chunk", () => {
    assert.equal(chunkCount(0), 1);
    assert.equal(sealedSize(0), 16);
    const key = newFileKey();
    assert.deepEqual(openChunk(key, 0, true, sealChunk(key, 0, true, new Uint8Array(0))), new Uint8Array(0));
  });

  it("refuses a tampered chunk", () => {
    const key = newFileKey();
    const s = sealChunk(key, 0, true, new Uint8Array(100).fill(7));
    s[5]! ^= 1;
    assert.throws(() => openChunk(key, 0, true, s), refused);
  });

  it("refuses a chunk moved to another index (reordered)", () => {
    const key = newFileKey();
    const s = sealChunk(key, 1, false, new Uint8Array(FILE_CHUNK_BYTES));
    assert.throws(() => openChunk(key, 0, false, s), refused);
    assert.throws(() => openChunk(key, 2, false, s), refused);
  });

  it("refuses a file cut short: a middle chunk is not accepted as the last", () => {
    const key = newFileKey();
    const s = sealChunk(key, 0, false, new Uint8Array(FILE_CHUNK_BYTES));
    assert.throws(() => openChunk(key, 0, true, s), refused);
  });

  it("refuses a last chunk presented as a middle one (data appended after it)", () => {
    const key = newFileKey();
    const s = sealChunk(key, 3, true, new Uint8Array(10));
    assert.throws(() => openChunk(key, 3, false, s), refused);
  });

  it("refuses another file's key, and sizes out of bounds", () => {
    const s = sealChunk(newFileKey(), 0, true, new Uint8Array(10));
    assert.throws(() => openChunk(newFileKey(), 0, true, s), refused);
    assert.throws(() => openChunk(newFileKey(), 0, true, new Uint8Array(3)), refused);
    assert.throws(
      () => openChunk(newFileKey(), 0, true, new Uint8Array(FILE_SEALED_CHUNK_BYTES + 1)),
      refused,
    );
  });

  it("seals the same chunk the same way twice (a resumed upload continues mid-chunk)", () => {
    const key = newFileKey();
    const c = new Uint8Array(500).fill(3);
    assert.deepEqual(sealChunk(key, 4, false, c), sealChunk(key, 4, false, c));
  });

  it("rejects misuse with TypeError or RangeError", () => {
    assert.throws(() => sealChunk(new Uint8Array(16), 0, true, new Uint8Array(1)), TypeError);
    assert.throws(() => sealChunk(newFileKey(), -1, true, new Uint8Array(1)), RangeError);
    assert.throws(() => sealChunk(newFileKey(), 0, true, new Uint8Array(FILE_CHUNK_BYTES + 1)), RangeError);
    assert.throws(() => chunkCount(-1), RangeError);
    assert.throws(() => chunkLength(10, 1), RangeError);
  });

  it("hashes a file streamed in pieces as SHA-256 of the whole", () => {
    const h = fileHasher();
    h.update(new TextEncoder().encode("ab"));
    h.update(new TextEncoder().encode("c"));
    assert.equal(h.digestHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
