import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { COMMON_PASSWORD_TABLE } from "./common-password-table.generated.js";

/**
 * The common-password list (common-passwords.ts) in about 54 KiB instead of some 400, for the
 * browser's checklist: a sorted table of SHA-256 prefixes, delta-encoded with Golomb-Rice
 * codes (a Golomb-coded set, as in BIP 158), written as base64 without padding.
 *
 * Each entry is hashed as UTF-8 after NFKC and lowercasing, the form `isCommonPassword`
 * compares; the table keeps the first `prefixBits` bits of each hash. A listed password is always
 * found (no false negatives). A password that is not listed is found when its prefix happens to
 * equal a listed one's: with 49,113 distinct prefixes among 2^23, that is 0.59 % of such
 * passwords, about 1 in 171 (`COMMON_PASSWORD_FALSE_POSITIVE_RATE`, checked against the table in
 * common-password-table.test.ts). Such a false positive only makes the client ask for another
 * password; the server checks the full list (`isCommonPassword`), so nothing weaker gets through.
 *
 * Pure: no `node:` imports. The table is generated from the list by
 * `npm run common-password-table`; a unit test fails when the two differ.
 */

/** Table parameters and data, as generated. */
export interface CommonPasswordTable {
  /** Bits of each SHA-256 kept: values are in [0, 2^prefixBits). */
  readonly prefixBits: number;
  /** Golomb-Rice parameter: each gap is written as (gap >> riceBits) in unary, then its low riceBits bits. */
  readonly riceBits: number;
  /** Distinct prefixes in the table. */
  readonly count: number;
  /** The bit stream, most significant bit first, six bits per base64 character, no padding. */
  readonly data: string;
}

/** The share of passwords not on the list that the table flags anyway (its distinct prefixes / 2^23). */
export const COMMON_PASSWORD_FALSE_POSITIVE_RATE = 0.00585;

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** Character code to sextet, -1 for a character that is not base64. */
const SEXTET = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) SEXTET[BASE64.charCodeAt(i)] = i;

/** The first `bits` (at most 32) bits of the SHA-256 of the password's comparison form. */
export function passwordHashPrefix(password: string, bits: number): number {
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new RangeError("bits must be 1-32");
  const h = sha256(utf8ToBytes(password.normalize("NFKC").toLowerCase()));
  const word = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
  return bits === 32 ? word : word >>> (32 - bits);
}

/** Builds the table for `passwords` (the generator's half; the client only decodes). */
export function encodeCommonPasswordTable(
  passwords: Iterable<string>,
  prefixBits: number,
  riceBits: number,
): CommonPasswordTable {
  const prefixes = new Set<number>();
  for (const p of passwords) prefixes.add(passwordHashPrefix(p, prefixBits));
  const sorted = [...prefixes].sort((a, b) => a - b);
  const bits: number[] = [];
  let previous = 0;
  for (const value of sorted) {
    const gap = value - previous;
    previous = value;
    for (let q = gap >>> riceBits; q > 0; q--) bits.push(1);
    bits.push(0);
    for (let i = riceBits - 1; i >= 0; i--) bits.push((gap >>> i) & 1);
  }
  let data = "";
  for (let i = 0; i < bits.length; i += 6) {
    let sextet = 0;
    for (let j = 0; j < 6; j++) sextet = (sextet << 1) | (bits[i + j] ?? 0);
    data += BASE64[sextet];
  }
  return { prefixBits, riceBits, count: sorted.length, data };
}

/** The table's prefixes in ascending order. Throws `RangeError` on a malformed table. */
export function decodeCommonPasswordTable(table: CommonPasswordTable): Uint32Array {
  const { data, riceBits, count } = table;
  const out = new Uint32Array(count);
  const totalBits = data.length * 6;
  let position = 0;
  const bit = (): number => {
    if (position >= totalBits) throw new RangeError("common-password table is truncated");
    const sextet = SEXTET[data.charCodeAt(Math.floor(position / 6))] ?? -1;
    if (sextet < 0) throw new RangeError("common-password table is not base64");
    const b = (sextet >>> (5 - (position % 6))) & 1;
    position++;
    return b;
  };
  let value = 0;
  for (let n = 0; n < count; n++) {
    let quotient = 0;
    while (bit() === 1) quotient++;
    let remainder = 0;
    for (let i = 0; i < riceBits; i++) remainder = (remainder << 1) | bit();
    value += quotient * 2 ** riceBits + remainder;
    out[n] = value;
  }
  return out;
}

let prefixes: Uint32Array | undefined;

/**
 * True when `password` is on the common-password list, and for about 1 in 171 passwords that are
 * not (see above). For a client's checklist; the server decides with `isCommonPassword`.
 */
export function mayBeCommonPassword(password: string): boolean {
  prefixes ??= decodeCommonPasswordTable(COMMON_PASSWORD_TABLE);
  const wanted = passwordHashPrefix(password, COMMON_PASSWORD_TABLE.prefixBits);
  let lo = 0;
  let hi = prefixes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = prefixes[mid]!;
    if (v === wanted) return true;
    if (v < wanted) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
