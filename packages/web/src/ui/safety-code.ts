/**
 * The text inside a safety-number QR code, and the check of a scanned one. Both people's
 * devices compute the same payload (packages/crypto/src/safety-number.ts), so a scanned code
 * matches exactly when the two sides see the same identity keys for each other.
 */

const PREFIX = "parley-sn:";

/** What a scanned code means for the safety number on this screen. */
export type ScannedSafetyCode = "match" | "mismatch" | "not-a-safety-code";

/** The QR code's text for a safety number's base64 payload. */
export function safetyCodeText(payloadBase64: string): string {
  return `${PREFIX}${payloadBase64}`;
}

/** Compares a scanned QR code's text with the payload of the safety number shown. */
export function compareSafetyCode(scanned: string, payloadBase64: string): ScannedSafetyCode {
  const text = scanned.trim();
  if (!text.startsWith(PREFIX) || text.length === PREFIX.length) return "not-a-safety-code";
  return text === safetyCodeText(payloadBase64) ? "match" : "mismatch";
}
