/**
 * Ed25519 (RFC 8032) for the provider: the platform's WebCrypto when it has Ed25519 (Node 20,
 * current Chromium, Firefox, Safari), @noble/curves otherwise (a page without `crypto.subtle`,
 * an older browser). The choice is made once, when this module loads, by signing and verifying
 * RFC 8032's first test vector with WebCrypto; `PARLEY_CRYPTO_PRIMITIVES=noble` (or `native`)
 * in a Node environment forces one path, so the known-answer tests run on both.
 *
 * Why: Ed25519 verification in JavaScript was three quarters of `processMessage`'s time
 * (every PrivateMessage carries a signature); WebCrypto does it in native code about ten times
 * cheaper. SHA-256, HMAC and HKDF stay on @noble: MLS feeds them a few dozen bytes at a time and
 * a WebCrypto call (a promise settled from another thread) costs more than the hash itself.
 *
 * Both paths apply RFC 8032's strict rules the same way: a public key must be a canonical
 * encoding of a point that is not of small order (checked with @noble once per key, then
 * remembered), S must be below L (both libraries check), and R must be canonical (@noble
 * checks; WebCrypto compares R with its own canonical recomputation). They can differ only on
 * signatures crafted with a small-order component in R, which @noble checks with the
 * cofactored equation and OpenSSL/BoringSSL with the cofactorless one; RFC 8032 allows both, and
 * such a signature can only be made by the key's owner, about its own message.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { hexToBytes } from "@noble/hashes/utils.js";

export type Primitives = "native" | "noble";

const ED25519 = { name: "Ed25519" } as const;
/** PKCS #8 PrivateKeyInfo for an Ed25519 seed (RFC 8410 §7), without the 32 seed bytes. */
const PKCS8_PREFIX = hexToBytes("302e020100300506032b657004220420");

// RFC 8032 §7.1, TEST 1 (the empty message).
const RFC8032_SEED = hexToBytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const RFC8032_PUBLIC = hexToBytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
const RFC8032_SIGNATURE = hexToBytes(
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
);

/** The slice of WebCrypto this file uses (the package compiles without the DOM library). */
interface Subtle {
  importKey(
    format: string,
    data: Uint8Array,
    algorithm: object,
    extractable: boolean,
    usages: string[],
  ): Promise<unknown>;
  sign(algorithm: object, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
  verify(algorithm: object, key: unknown, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  exportKey(format: "raw", key: unknown): Promise<ArrayBuffer>;
  generateKey(
    algorithm: object,
    extractable: boolean,
    usages: string[],
  ): Promise<{ publicKey: unknown; privateKey: unknown }>;
  deriveBits(algorithm: object, baseKey: unknown, length: number): Promise<ArrayBuffer>;
}

function forced(): Primitives | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.PARLEY_CRYPTO_PRIMITIVES;
  if (value === undefined || value === "" || value === "auto") return undefined;
  if (value === "native" || value === "noble") return value;
  throw new RangeError(`PARLEY_CRYPTO_PRIMITIVES must be native, noble or auto, not ${value}`);
}

// RFC 7748 §6.1: Alice's private key, Bob's public key, their shared secret K.
const RFC7748_ALICE_PRIVATE = hexToBytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const RFC7748_BOB_PUBLIC = hexToBytes("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
const RFC7748_SHARED = hexToBytes("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
const X25519 = { name: "X25519" } as const;
/** PKCS #8 PrivateKeyInfo for an X25519 private key (RFC 8410 §7), without the 32 key bytes. */
const X25519_PKCS8_PREFIX = hexToBytes("302e020100300506032b656e04220420");

function pkcs8(prefix: Uint8Array, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + key.length);
  out.set(prefix);
  out.set(key, prefix.length);
  return out;
}

/** WebCrypto's X25519 when it reproduces RFC 7748's shared secret, else false. Never throws. */
async function nativeX25519(subtle: Subtle): Promise<boolean> {
  try {
    const der = pkcs8(X25519_PKCS8_PREFIX, RFC7748_ALICE_PRIVATE);
    const privateKey = await subtle.importKey("pkcs8", der, X25519, false, ["deriveBits"]);
    const publicKey = await subtle.importKey("raw", RFC7748_BOB_PUBLIC, X25519, true, []);
    const shared = new Uint8Array(await subtle.deriveBits({ ...X25519, public: publicKey }, privateKey, 256));
    return equal(shared, RFC7748_SHARED);
  } catch {
    return false;
  }
}

/** WebCrypto's Ed25519 when it works as RFC 8032 says, else null. Never throws. */
async function nativeEd25519(): Promise<Subtle | null> {
  try {
    // Reading `crypto.subtle` can itself throw (a getter that refuses, see no-webcrypto.test).
    const subtle = (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle;
    if (subtle === undefined) return null;
    const signKey = await subtle.importKey("pkcs8", pkcs8(PKCS8_PREFIX, RFC8032_SEED), ED25519, false, [
      "sign",
    ]);
    const signed = new Uint8Array(await subtle.sign(ED25519, signKey, new Uint8Array(0)));
    if (!equal(signed, RFC8032_SIGNATURE)) return null;
    const verifyKey = await subtle.importKey("raw", RFC8032_PUBLIC, ED25519, false, ["verify"]);
    if (!(await subtle.verify(ED25519, verifyKey, RFC8032_SIGNATURE, new Uint8Array(0)))) return null;
    const tampered = RFC8032_SIGNATURE.slice();
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    if (await subtle.verify(ED25519, verifyKey, tampered, new Uint8Array(0))) return null;
    return subtle;
  } catch {
    return null;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Decided once, at load; every call waits for it (a settled promise after the first). `subtle`
 * is set when Ed25519 is native; `x25519` when X25519 is native too.
 */
const chosen: Promise<{ primitives: Primitives; subtle: Subtle | null; x25519: Subtle | null }> =
  (async () => {
    const want = forced();
    if (want === "noble") return { primitives: "noble" as const, subtle: null, x25519: null };
    const subtle = await nativeEd25519();
    const x25519 = subtle !== null && (await nativeX25519(subtle)) ? subtle : null;
    if (want === "native" && x25519 === null) {
      throw new Error(
        "PARLEY_CRYPTO_PRIMITIVES=native, but this platform's WebCrypto lacks Ed25519 or X25519",
      );
    }
    return subtle === null
      ? { primitives: "noble" as const, subtle, x25519 }
      : { primitives: "native" as const, subtle, x25519 };
  })();
// A forced native path that is missing fails every signature; do not also report it unhandled.
chosen.catch(() => undefined);

/** Which path signs and verifies here: "native" (WebCrypto) or "noble". */
export async function ed25519Primitives(): Promise<Primitives> {
  return (await chosen).primitives;
}

/**
 * Public keys already checked (canonical, not of small order) and imported, by their hex form.
 * Public: nothing secret is kept. Bounded: emptied when full, so a long session with many
 * members never grows it past this.
 */
const VERIFY_KEYS_MAX = 4096;
const verifyKeys = new Map<string, Promise<unknown | null>>();

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

function strictPublicKey(publicKey: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}

function verifyKey(subtle: Subtle, publicKey: Uint8Array): Promise<unknown | null> {
  const id = hex(publicKey);
  let key = verifyKeys.get(id);
  if (key === undefined) {
    key = strictPublicKey(publicKey)
      ? subtle.importKey("raw", publicKey.slice(), ED25519, false, ["verify"]).catch(() => null)
      : Promise.resolve(null);
    if (verifyKeys.size >= VERIFY_KEYS_MAX) verifyKeys.clear();
    verifyKeys.set(id, key);
  }
  return key;
}

/**
 * Imported signing keys, by the seed array they came from. A WeakMap: an entry lives no longer
 * than the caller's own copy of the seed. A seed wiped in place (all zero) is not signed with.
 */
const signKeys = new WeakMap<Uint8Array, Promise<unknown>>();

function signKey(subtle: Subtle, seed: Uint8Array): Promise<unknown> {
  let key = signKeys.get(seed);
  if (key === undefined) {
    const der = pkcs8(PKCS8_PREFIX, seed);
    key = subtle.importKey("pkcs8", der, ED25519, false, ["sign"]).finally(() => der.fill(0));
    signKeys.set(seed, key);
  }
  return key;
}

/** RFC 8032 signature of `message` with the 32-byte `seed`. */
export async function ed25519Sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const { subtle } = await chosen;
  if (subtle === null || seed.every((b) => b === 0)) return ed25519.sign(message, seed);
  return new Uint8Array(await subtle.sign(ED25519, await signKey(subtle, seed), message));
}

/** True when `signature` is a valid strict RFC 8032 signature; false for anything malformed. */
export async function ed25519Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const { subtle } = await chosen;
  if (subtle === null) {
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  }
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const key = await verifyKey(subtle, publicKey);
  if (key === null) return false;
  try {
    return await subtle.verify(ED25519, key, signature, message);
  } catch {
    return false;
  }
}

/**
 * X25519 through WebCrypto, for HPKE's Encap and Decap (hpke.ts), or null where it is not native
 * (then hpke.ts uses @noble).
 */
export interface NativeX25519 {
  /** A fresh ephemeral key pair's public key and its shared secret with `publicKey` (Encap). */
  ephemeral(publicKey: Uint8Array): Promise<{ enc: Uint8Array; shared: Uint8Array }>;
  /** The shared secret of `secretKey` (with its public key, for the import) and `publicKey`. */
  dh(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;
}

/** Imported X25519 private keys, by the secret array they came from (see signKeys). */
const dhKeys = new WeakMap<Uint8Array, Promise<unknown>>();

export async function nativeX25519Ops(): Promise<NativeX25519 | null> {
  const { x25519: subtle } = await chosen;
  if (subtle === null) return null;
  const peer = (publicKey: Uint8Array) => subtle.importKey("raw", publicKey.slice(), X25519, true, []);
  const derive = async (privateKey: unknown, publicKey: Uint8Array) =>
    new Uint8Array(await subtle.deriveBits({ ...X25519, public: await peer(publicKey) }, privateKey, 256));
  return {
    async ephemeral(publicKey) {
      const pair = await subtle.generateKey(X25519, true, ["deriveBits"]);
      const enc = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
      return { enc, shared: await derive(pair.privateKey, publicKey) };
    },
    async dh(secretKey, publicKey) {
      let key = dhKeys.get(secretKey);
      if (key === undefined || secretKey.every((b) => b === 0)) {
        const der = pkcs8(X25519_PKCS8_PREFIX, secretKey);
        const imported = subtle
          .importKey("pkcs8", der, X25519, false, ["deriveBits"])
          .finally(() => der.fill(0));
        dhKeys.set(secretKey, imported);
        key = imported;
      }
      return derive(await key, publicKey);
    },
  };
}
