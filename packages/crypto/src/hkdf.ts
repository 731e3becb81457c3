/**
 * HKDF-Expand (RFC 5869 §2.3) over @noble/hashes' HMAC, with a shortcut for the case MLS and
 * HPKE almost always ask for: an output no longer than one hash (a 32-byte secret, a 32-byte key,
 * a 12-byte nonce). Then OKM is the first L octets of T(1) = HMAC-Hash(PRK, info || 0x01), which
 * is one HMAC; @noble's general `expand` also clones the keyed HMAC for the next block and
 * restores it afterwards, which made each call about 40% dearer (an MLS message runs five to
 * seven of them, a Welcome thousands). Longer outputs go to @noble's `expand` unchanged. Both
 * paths are checked against RFC 5869's vectors (hkdf.test.ts) and MLS's (kat.test.ts).
 */
import { expand } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import type { CHash } from "@noble/hashes/utils.js";

const COUNTER_ONE = Uint8Array.of(1);

/** HKDF-Expand(PRK, info, L) with hash `fn`; the same contract as @noble/hashes' `expand`. */
export function hkdfExpand(fn: CHash, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > fn.outputLen) return expand(fn, prk, info, length);
  const t1 = hmac.create(fn, prk).update(info).update(COUNTER_ONE).digest();
  if (length === t1.length) return t1;
  const okm = t1.slice(0, length);
  t1.fill(0);
  return okm;
}
