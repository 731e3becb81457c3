import { X509Certificate } from "node:crypto";

/**
 * SHA-256 fingerprint of the first certificate in `pem`, over its DER encoding, as uppercase
 * hex pairs joined by colons ("AB:CD:…"): the form browsers, phones and `openssl x509
 * -fingerprint -sha256` show, so a person can compare it character by character.
 */
export function fingerprintSha256(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}
