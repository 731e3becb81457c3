import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { getCiphersuiteFromName } from "ts-mls";
import { CryptoError } from "ts-mls/mlsError.js";
import { ed25519Primitives } from "./ed25519.js";
import { HpkeError, openBase, sealBase } from "./hpke.js";
import { PARLEY_CIPHERSUITE, parleyCiphersuite } from "./provider.js";
import { parleyCryptoProvider } from "./suites.js";

const cs = parleyCiphersuite();
const info = new TextEncoder().encode("info");
const aad = new TextEncoder().encode("aad");
const pt = new TextEncoder().encode("plaintext");

async function keyPair() {
  return cs.hpke.generateKeyPair();
}

describe("HPKE", () => {
  test("seal then open round-trips, with and without aad", async () => {
    const { privateKey, publicKey } = await keyPair();
    const sealed = await cs.hpke.seal(publicKey, pt, info, aad);
    assert.deepEqual(await cs.hpke.open(privateKey, sealed.enc, sealed.ct, info, aad), pt);
    const bare = await cs.hpke.seal(publicKey, pt, info);
    assert.deepEqual(await cs.hpke.open(privateKey, bare.enc, bare.ct, info), pt);
  });

  test("every broken input to open is one opaque CryptoError", async () => {
    const { privateKey, publicKey } = await keyPair();
    const other = await keyPair();
    const { enc, ct } = await cs.hpke.seal(publicKey, pt, info, aad);
    const flip = (b: Uint8Array, i: number) => {
      const c = b.slice();
      c[i] = c[i]! ^ 1;
      return c;
    };
    const broken: [string, () => Promise<unknown>][] = [
      ["wrong key", () => cs.hpke.open(other.privateKey, enc, ct, info, aad)],
      ["tampered ciphertext", () => cs.hpke.open(privateKey, enc, flip(ct, 0), info, aad)],
      ["tampered tag", () => cs.hpke.open(privateKey, enc, flip(ct, ct.length - 1), info, aad)],
      ["tampered enc", () => cs.hpke.open(privateKey, flip(enc, 3), ct, info, aad)],
      ["other info", () => cs.hpke.open(privateKey, enc, ct, new Uint8Array(), aad)],
      ["other aad", () => cs.hpke.open(privateKey, enc, ct, info, new Uint8Array())],
      ["short enc", () => cs.hpke.open(privateKey, enc.subarray(1), ct, info, aad)],
      ["all-zero enc (low order point)", () => cs.hpke.open(privateKey, new Uint8Array(32), ct, info, aad)],
      ["truncated ciphertext", () => cs.hpke.open(privateKey, enc, ct.subarray(0, 10), info, aad)],
    ];
    for (const [name, open] of broken) {
      await assert.rejects(
        open(),
        (e: unknown) => e instanceof CryptoError && e.message === "HPKE open failed",
        name,
      );
    }
  });

  test("sealing to a low-order public key fails instead of producing a predictable secret", () => {
    assert.throws(() => sealBase(new Uint8Array(32), info, aad, pt), HpkeError);
    assert.throws(() => sealBase(new Uint8Array(31), info, aad, pt), RangeError);
  });

  test("the raw open refuses a mismatched recipient public key", () => {
    const sk = x25519.utils.randomSecretKey();
    const pk = x25519.getPublicKey(sk);
    const { enc, ct } = sealBase(pk, info, aad, pt);
    assert.deepEqual(openBase(enc, sk, pk, info, aad, ct), pt);
    // kem_context binds pkR (RFC 9180 §4.1); a different pkR gives a different key.
    assert.throws(
      () => openBase(enc, sk, x25519.getPublicKey(x25519.utils.randomSecretKey()), info, aad, ct),
      HpkeError,
    );
  });

  test("export secrets agree between sender and receiver (RFC 9180 §6.2)", async () => {
    const { privateKey, publicKey } = await keyPair();
    const label = new TextEncoder().encode("MLS 1.0 external init secret");
    const { enc, secret } = await cs.hpke.exportSecret(publicKey, label, 32, new Uint8Array());
    assert.deepEqual(await cs.hpke.importSecret(privateKey, label, enc, 32, new Uint8Array()), secret);
    await assert.rejects(
      cs.hpke.importSecret(privateKey, label, new Uint8Array(32), 32, new Uint8Array()),
      CryptoError,
    );
  });

  test("private keys are clamped on import and export (RFC 9180 §7.1.2)", async () => {
    const raw = new Uint8Array(32).fill(0xff);
    const exported = await cs.hpke.exportPrivateKey(await cs.hpke.importPrivateKey(raw));
    assert.equal(exported[0]! & 7, 0);
    assert.equal(exported[31]! & 0x80, 0);
    assert.equal(exported[31]! & 0x40, 0x40);
    assert.deepEqual(raw, new Uint8Array(32).fill(0xff), "the caller's bytes are not modified");
  });

  test("rejects keys of the wrong length", async () => {
    await assert.rejects(cs.hpke.importPublicKey(new Uint8Array(33)), CryptoError);
    await assert.rejects(cs.hpke.importPrivateKey(new Uint8Array(31)), CryptoError);
  });

  test("rejects key handles it did not make", async () => {
    const foreign = { type: "public" } as unknown as Parameters<typeof cs.hpke.exportPublicKey>[0];
    await assert.rejects(cs.hpke.exportPublicKey(foreign), TypeError);
  });
});

describe("AEAD, MAC and signatures", () => {
  test("decryptAead reports any failure as CryptoError", async () => {
    const key = cs.rng.randomBytes(32);
    const nonce = cs.rng.randomBytes(12);
    const ct = await cs.hpke.encryptAead(key, nonce, aad, pt);
    assert.deepEqual(await cs.hpke.decryptAead(key, nonce, aad, ct), pt);
    await assert.rejects(cs.hpke.decryptAead(key, nonce, undefined, ct), CryptoError);
    await assert.rejects(cs.hpke.decryptAead(key, cs.rng.randomBytes(12), aad, ct), CryptoError);
    await assert.rejects(cs.hpke.decryptAead(key.subarray(1), nonce, aad, ct), CryptoError);
  });

  test("verifyMac is false for a wrong or truncated tag", async () => {
    const key = cs.rng.randomBytes(32);
    const mac = await cs.hash.mac(key, pt);
    assert.equal(await cs.hash.verifyMac(key, mac, pt), true);
    assert.equal(await cs.hash.verifyMac(key, mac.subarray(0, 16), pt), false);
    const bad = mac.slice();
    bad[0] = bad[0]! ^ 1;
    assert.equal(await cs.hash.verifyMac(key, bad, pt), false);
  });

  test("verify is false, never a throw, for broken signatures and keys", async () => {
    const { signKey, publicKey } = await cs.signature.keygen();
    const sig = await cs.signature.sign(signKey, pt);
    assert.equal(await cs.signature.verify(publicKey, pt, sig), true);
    const bad = sig.slice();
    bad[5] = bad[5]! ^ 1;
    assert.equal(await cs.signature.verify(publicKey, pt, bad), false);
    assert.equal(await cs.signature.verify(publicKey, pt, sig.subarray(1)), false);
    assert.equal(await cs.signature.verify(new Uint8Array(3), pt, sig), false);
    assert.equal(await cs.signature.verify(publicKey, new Uint8Array(), sig), false);
    // A non-canonical S (S + L) must not verify under RFC 8032's strict rules.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
    const sPlusL = s + L;
    const malleated = sig.slice();
    for (let i = 0, v = sPlusL; i < 32; i++, v >>= 8n) malleated[32 + i] = Number(v & 0xffn);
    assert.equal(await cs.signature.verify(publicKey, pt, malleated), false);
  });

  test("verify refuses a small-order public key, whose trivial signature holds for any message", async () => {
    // A = the identity point, R = the identity point, S = 0: [S]B = R + [k]A for every k, so
    // this "signature" satisfies the verification equation. RFC 8032 strict (and @noble) refuse
    // the key; OpenSSL's Ed25519 alone would not, so the native path must check it first.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const trivial = new Uint8Array(64);
    trivial[0] = 1;
    assert.equal(await cs.signature.verify(identity, pt, trivial), false);
    assert.equal(await cs.signature.verify(identity, new Uint8Array(), trivial), false);
  });

  test("a signature verifies on the other path too (native and @noble agree)", async () => {
    const { signKey, publicKey } = await cs.signature.keygen();
    const sig = await cs.signature.sign(signKey, pt);
    assert.deepEqual(sig, ed25519.sign(pt, signKey), "Ed25519 signatures are deterministic");
    assert.equal(ed25519.verify(sig, pt, publicKey, { zip215: false }), true);
    // The same key again (remembered by the native path) still refuses a changed message.
    assert.equal(await cs.signature.verify(publicKey, pt, sig), true);
    assert.equal(await cs.signature.verify(publicKey, aad, sig), false);
  });

  test("sign refuses a signing key of the wrong length", async () => {
    await assert.rejects(cs.signature.sign(new Uint8Array(48), pt), RangeError);
  });
});

describe("provider", () => {
  test("signs and verifies on the primitives asked for", async () => {
    const asked = (process.env.PARLEY_CRYPTO_PRIMITIVES ?? "") || "native";
    assert.equal(await ed25519Primitives(), asked);
  });

  test("serves suite 3 and X-Wing suite 0x0054 and refuses every other suite", async () => {
    const impl = await parleyCryptoProvider.getCiphersuiteImpl(getCiphersuiteFromName(PARLEY_CIPHERSUITE));
    assert.equal(impl.name, PARLEY_CIPHERSUITE);
    const xwing = await parleyCryptoProvider.getCiphersuiteImpl(
      getCiphersuiteFromName("MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519"),
    );
    assert.equal(xwing.name, "MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519");
    await assert.rejects(
      parleyCryptoProvider.getCiphersuiteImpl(
        getCiphersuiteFromName("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"),
      ),
      RangeError,
    );
  });
});
