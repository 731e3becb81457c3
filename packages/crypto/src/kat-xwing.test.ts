/**
 * Known-answer tests for the X-Wing suite (0x0054, MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519)
 * and the parts of it Parley's provider calls:
 *
 * - X-Wing itself, from draft-connolly-cfrg-xwing-kem's test vectors: key generation from a
 *   seed, encapsulation with fixed randomness, decapsulation; and the same vectors through our
 *   HPKE binding (hpke-xwing.ts), whose enc must be the KEM's ciphertext;
 * - ML-KEM-768 (FIPS 203) on its own, from C2SP/CCTV: an encapsulation whose SampleNTT reads
 *   many XOF blocks, and the implicit rejection a strcmp()-style comparison would miss;
 * - the suite's hash, KDF and AEAD (SHA-512, HKDF-SHA512, ChaCha20-Poly1305) through ts-mls,
 *   from the MLS working group's vectors for suite 6 (MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_
 *   Ed448), which shares exactly those three: crypto-basics' hash and KDF parts, the secret tree
 *   and the key schedule. The working group publishes no vectors for the X-Wing suites yet; the
 *   parts suite 6 does not share (the KEM, Ed25519) are covered above and by kat.test.ts.
 *
 * Vector files: packages/crypto/test-vectors/xwing-mlkem.json (sources named inside) and
 * ../shared/test-vectors/mls (see kat.test.ts).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { XWing } from "@noble/post-quantum/hybrid.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import type { CiphersuiteImpl } from "ts-mls";
import { refhash } from "ts-mls/crypto/hash.js";
import { decryptWithLabel, encryptWithLabel } from "ts-mls/crypto/hpke.js";
import { deriveSecret, deriveTreeSecret, expandWithLabel } from "ts-mls/crypto/kdf.js";
import { HpkeError } from "./hpke.js";
import { deriveXWingKeyPair, xwingOpenBase, xwingSealBase } from "./hpke-xwing.js";
import { XWING_CIPHERSUITE, xwingCiphersuite } from "./provider-xwing.js";
import { checkKeySchedule, checkSecretTree } from "./testing/kat-checks.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "..", "..", "..");
const mlsVectorDir = resolve(repoRoot, "..", "shared", "test-vectors", "mls");
const hex = bytesToHex;
const bytes = hexToBytes;
const cs: CiphersuiteImpl = xwingCiphersuite();

// biome-ignore lint/suspicious/noExplicitAny: vector files are untyped JSON; each test narrows what it reads.
type Json = any;

const vectors: Json = JSON.parse(
  readFileSync(resolve(here, "..", "test-vectors", "xwing-mlkem.json"), "utf8"),
);

/** The MLS vectors of suite 6, which has this suite's hash, KDF and AEAD. */
const SHARED_PARTS_SUITE = 6;
function suite6(file: string): Json[] {
  const path = resolve(mlsVectorDir, file);
  if (!existsSync(path)) {
    throw new Error(`MLS test vector ${path} is missing (shared/test-vectors/mls beside the checkout).`);
  }
  const cases = (JSON.parse(readFileSync(path, "utf8")) as Json[]).filter(
    (c) => c.cipher_suite === SHARED_PARTS_SUITE,
  );
  assert.ok(cases.length > 0, `${file} has no case for cipher suite ${SHARED_PARTS_SUITE}`);
  return cases;
}

test("X-Wing draft vectors: keygen from seed, encapsulate with eseed, decapsulate", async (t) => {
  for (const [i, v] of (vectors.xwing.cases as Json[]).entries()) {
    await t.test(`case ${i}`, () => {
      const keys = XWing.keygen(bytes(v.seed));
      assert.equal(hex(keys.secretKey), v.sk);
      assert.equal(hex(keys.publicKey), v.pk);
      const enc = XWing.encapsulate(bytes(v.pk), bytes(v.eseed));
      assert.equal(hex(enc.cipherText), v.ct);
      assert.equal(hex(enc.sharedSecret), v.ss);
      assert.equal(hex(XWing.decapsulate(bytes(v.ct), bytes(v.sk))), v.ss);
    });
  }
});

test("X-Wing draft vectors through the HPKE binding: enc is the KEM ciphertext, and it opens", async (t) => {
  const info = utf8ToBytes("MLS 1.0 test");
  const aad = utf8ToBytes("aad");
  const plaintext = utf8ToBytes("recorded today, unreadable tomorrow");
  for (const [i, v] of (vectors.xwing.cases as Json[]).entries()) {
    await t.test(`case ${i}`, () => {
      const sealed = xwingSealBase(bytes(v.pk), info, aad, plaintext, bytes(v.eseed));
      assert.equal(hex(sealed.enc), v.ct);
      assert.deepEqual(xwingOpenBase(sealed.enc, bytes(v.sk), info, aad, sealed.ct), plaintext);
      // Any other info, aad or ciphertext fails as one opaque error.
      assert.throws(
        () => xwingOpenBase(sealed.enc, bytes(v.sk), utf8ToBytes("other"), aad, sealed.ct),
        HpkeError,
      );
      const flipped = sealed.ct.slice();
      flipped[0] = flipped[0]! ^ 1;
      assert.throws(() => xwingOpenBase(sealed.enc, bytes(v.sk), info, aad, flipped), HpkeError);
      assert.throws(
        () => xwingOpenBase(sealed.enc.subarray(1), bytes(v.sk), info, aad, sealed.ct),
        HpkeError,
      );
    });
  }
});

test("X-Wing DeriveKeyPair: the seed is SHAKE256(ikm, 32), and the same ikm gives the same keys", () => {
  const v = vectors.xwing.cases[0];
  const a = deriveXWingKeyPair(bytes(v.seed));
  const b = deriveXWingKeyPair(bytes(v.seed));
  assert.equal(a.secretKey.length, 32);
  assert.equal(a.publicKey.length, 1216);
  assert.deepEqual(a, b);
  assert.notEqual(
    hex(a.secretKey),
    v.seed,
    "DeriveKeyPair hashes its input; it is not GenerateKeyPairDerand",
  );
  assert.equal(hex(a.publicKey), hex(XWing.getPublicKey(a.secretKey)));
});

test("ML-KEM-768 (FIPS 203), C2SP unlucky-sample vector: Encaps(ek, m) and Decaps(dk, c)", () => {
  const v = vectors.mlkem768_unlucky;
  const enc = ml_kem768.encapsulate(bytes(v.ek), bytes(v.m));
  assert.equal(hex(enc.cipherText), v.c);
  assert.equal(hex(enc.sharedSecret), v.K);
  assert.equal(hex(ml_kem768.decapsulate(bytes(v.c), bytes(v.dk))), v.K);
});

test("ML-KEM-768 (FIPS 203), C2SP strcmp vector: implicit rejection gives the rejection key", () => {
  const v = vectors.mlkem768_strcmp;
  assert.equal(hex(ml_kem768.decapsulate(bytes(v.c), bytes(v.dk))), v.K);
});

test("suite 0x0054 is what the provider says: SHA-512, HKDF-SHA512, ChaCha20-Poly1305, X-Wing sizes", async () => {
  assert.equal(cs.name, XWING_CIPHERSUITE);
  assert.equal(cs.kdf.size, 64);
  assert.equal(cs.hpke.keyLength, 32);
  assert.equal(cs.hpke.nonceLength, 12);
  const { privateKey, publicKey } = await cs.hpke.generateKeyPair();
  assert.equal((await cs.hpke.exportPublicKey(publicKey)).length, 1216);
  const seed = await cs.hpke.exportPrivateKey(privateKey);
  assert.equal(seed.length, 32);
  // A stored seed imports back to a key that opens what was sealed to the original public key.
  const context = utf8ToBytes("ctx");
  const sealed = await encryptWithLabel(publicKey, "label", context, utf8ToBytes("hi"), cs.hpke);
  const reimported = await cs.hpke.importPrivateKey(seed);
  assert.equal(
    new TextDecoder().decode(
      await decryptWithLabel(reimported, "label", context, sealed.enc, sealed.ct, cs.hpke),
    ),
    "hi",
  );
  await assert.rejects(cs.hpke.importPublicKey(new Uint8Array(32)));
  await assert.rejects(cs.hpke.importPrivateKey(new Uint8Array(31)));
});

test("suite 6 crypto-basics (shared hash and KDF): RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret", async (t) => {
  for (const [i, v] of suite6("crypto-basics.json").entries()) {
    await t.test(`case ${i}`, async () => {
      const rh = v.ref_hash;
      assert.equal(hex(await refhash(rh.label, bytes(rh.value), cs.hash)), rh.out, "ref_hash");
      const ewl = v.expand_with_label;
      assert.equal(
        hex(await expandWithLabel(bytes(ewl.secret), ewl.label, bytes(ewl.context), ewl.length, cs.kdf)),
        ewl.out,
        "expand_with_label",
      );
      const ds = v.derive_secret;
      assert.equal(hex(await deriveSecret(bytes(ds.secret), ds.label, cs.kdf)), ds.out, "derive_secret");
      const dts = v.derive_tree_secret;
      assert.equal(
        hex(await deriveTreeSecret(bytes(dts.secret), dts.label, dts.generation, dts.length, cs.kdf)),
        dts.out,
        "derive_tree_secret",
      );
    });
  }
});

test("suite 6 secret-tree (shared KDF and AEAD sizes): sender data keys and every ratchet", async (t) => {
  for (const [i, v] of suite6("secret-tree.json").entries()) {
    await t.test(`case ${i}`, () => checkSecretTree(v, cs));
  }
});

test("suite 6 key-schedule (shared KDF): every epoch secret and the exporter", async (t) => {
  for (const [i, v] of suite6("key-schedule.json").entries()) {
    // external_pub is X448 in suite 6: the KEM is the one part not shared, so it is not compared.
    await t.test(`case ${i}`, () =>
      checkKeySchedule(v, cs, "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448"),
    );
  }
});
