/**
 * POLICY-1: checking a server's signed policy statement. Ed25519 (RFC 8032) through the same
 * strict verifier as everything else here; the fingerprint is the one the server prints.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { ed25519Verify } from "./ed25519.js";

/** True when `signature` is the policy key's signature of `context` + `statement` (UTF-8). */
export function verifyPolicySignature(
  publicKey: Uint8Array,
  context: string,
  statement: string,
  signature: Uint8Array,
): Promise<boolean> {
  return ed25519Verify(publicKey, utf8ToBytes(context + statement), signature);
}

/** SHA-256 of the raw public key, uppercase hex pairs joined by colons. */
export function policyKeyFingerprint(publicKey: Uint8Array): string {
  return (bytesToHex(sha256(publicKey)).toUpperCase().match(/../g) ?? []).join(":");
}
