/** Characters per message, whatever the server allows. */
const MAX_CHARS = 4_000;

/**
 * The longest text whose encrypted frame still fits the server's frame limit: the MLS
 * ciphertext is the UTF-8 text plus a bounded overhead (content encoding, AEAD tag, framing),
 * then base64 (4/3) inside a JSON frame; a character is at most 4 UTF-8 bytes.
 */
export function maxMessageChars(maxFrameBytes: number | undefined): number {
  if (maxFrameBytes === undefined) return MAX_CHARS;
  const ciphertextBudget = Math.floor(((maxFrameBytes - 512) * 3) / 4);
  return Math.max(0, Math.min(MAX_CHARS, Math.floor((ciphertextBudget - 512) / 4)));
}
