/**
 * The MLS cipher suites a Parley server may run (`PARLEY_MLS_SUITE`), by the short names the
 * server announces in `/api/info` and operators type. One server, one suite for new groups and
 * new KeyPackages; a group keeps the suite it was created in (RFC 9420 §11: the cipher suite is
 * fixed for the life of a group).
 */
import { Type } from "typebox";

export const MLS_SUITES = {
  /** RFC 9420 §17.1 suite 0x0003: MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519. */
  x25519: { id: 0x0003, name: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519" },
  /**
   * Suite 0x0054 (ts-mls's registry, after draft-ietf-mls-pq-ciphersuites):
   * MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519, X-Wing (ML-KEM-768 + X25519) as the KEM.
   */
  xwing: { id: 0x0054, name: "MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519" },
} as const;

export type MlsSuite = keyof typeof MLS_SUITES;

export const MLS_SUITE_NAMES = Object.keys(MLS_SUITES) as MlsSuite[];

export const DEFAULT_MLS_SUITE: MlsSuite = "x25519";

export const MlsSuiteSchema = Type.Union([Type.Literal("x25519"), Type.Literal("xwing")]);

export function isMlsSuite(value: string): value is MlsSuite {
  return (MLS_SUITE_NAMES as string[]).includes(value);
}

/** The short name of an RFC 9420 cipher suite name, or undefined when Parley does not run it. */
export function mlsSuiteOf(ciphersuiteName: string): MlsSuite | undefined {
  for (const s of MLS_SUITE_NAMES) if (MLS_SUITES[s].name === ciphersuiteName) return s;
  return undefined;
}
