/**
 * Signs and checks a device's claim that it wrote a message, for the copies other members pass
 * on to a device that missed it (PROTOCOL.md RCPT-6). Within MLS the group's own signatures say
 * who sent a message (RFC 9420 §6.1); a copy that another member re-encrypts carries only that
 * member's, so the author's device signs the message's id, time, room and content once, with
 * its MLS signature key, and the receiver checks that against the author's leaf in its group.
 */
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { ed25519Sign, ed25519Verify } from "./ed25519.js";
import type { DeviceIdentity } from "./identity.js";

/**
 * Domain separation: MLS signs only `SignContent` structs whose label starts with "MLS 1.0 "
 * (RFC 9420 §5.1.2), so these bytes can never be taken for an MLS signature input, or back.
 */
const LABEL = "parley message origin v1\n";

function input(body: string): Uint8Array {
  return utf8ToBytes(LABEL + body);
}

/** Ed25519 (RFC 8032) over the label and `body` (a canonical string the caller builds). */
export function signMessageOrigin(identity: DeviceIdentity, body: string): Promise<Uint8Array> {
  return ed25519Sign(identity.signaturePrivateKey, input(body));
}

/** True when `signature` is the device's (public key `signatureKey`) over `body`. */
export function verifyMessageOrigin(
  signatureKey: Uint8Array,
  body: string,
  signature: Uint8Array,
): Promise<boolean> {
  return ed25519Verify(signatureKey, input(body), signature);
}
