import assert from "node:assert/strict";
import { hkdfSync } from "node:crypto";
import { describe, test } from "node:test";
import { expand } from "@noble/hashes/hkdf.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { hkdfExpand } from "./hkdf.js";

// RFC 5869 Appendix A.1 and A.3 (HKDF-SHA256): PRK, info, and the 42-byte OKM. HKDF's output
// is a prefix code (OKM(L) is the first L octets of T(1) || T(2) ...), so the first 32 or 12
// bytes of each OKM are the answers for those lengths too.
const RFC5869 = [
  {
    name: "A.1",
    prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
    info: "f0f1f2f3f4f5f6f7f8f9",
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "A.3 (empty salt and info)",
    prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
    info: "",
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
];

describe("hkdfExpand (RFC 5869 §2.3)", () => {
  for (const v of RFC5869) {
    test(`matches RFC 5869 ${v.name} for one-block and longer outputs`, () => {
      const okm = hexToBytes(v.okm);
      for (const length of [42, 32, 12, 1]) {
        assert.deepEqual(
          hkdfExpand(sha256, hexToBytes(v.prk), hexToBytes(v.info), length),
          okm.subarray(0, length),
          `L = ${length}`,
        );
      }
    });
  }

  test("agrees with @noble's expand for every length up to two blocks, SHA-256 and SHA-512", () => {
    const prk = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
    const info = Uint8Array.from({ length: 40 }, (_, i) => 255 - i);
    for (const [fn, name] of [
      [sha256, "sha256"],
      [sha512, "sha512"],
    ] as const) {
      for (let length = 0; length <= 2 * fn.outputLen; length++) {
        assert.deepEqual(
          hkdfExpand(fn, prk, info, length),
          expand(fn, prk, info, length),
          `${name} L = ${length}`,
        );
      }
    }
  });

  test("agrees with node:crypto's HKDF (Extract then Expand) on RFC 5869 A.1's inputs", () => {
    const ikm = hexToBytes("0b".repeat(22));
    const salt = hexToBytes("000102030405060708090a0b0c");
    const v = RFC5869[0]!;
    const native = new Uint8Array(hkdfSync("sha256", ikm, salt, hexToBytes(v.info), 32));
    assert.deepEqual(hkdfExpand(sha256, hexToBytes(v.prk), hexToBytes(v.info), 32), native);
  });

  test("returns a fresh array each time, so wiping one output leaves the next intact", () => {
    const prk = new Uint8Array(32).fill(1);
    const a = hkdfExpand(sha256, prk, new Uint8Array(0), 32);
    const b = hkdfExpand(sha256, prk, new Uint8Array(0), 32);
    a.fill(0);
    assert.notDeepEqual(b, a);
    assert.equal(hkdfExpand(sha256, prk, new Uint8Array(0), 12).length, 12);
  });

  test("refuses what @noble refuses: more than 255 blocks", () => {
    assert.throws(() => hkdfExpand(sha256, new Uint8Array(32), new Uint8Array(0), 255 * 32 + 1));
  });
});
