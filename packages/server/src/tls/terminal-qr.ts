import { toString as qrToString } from "qrcode";

/**
 * A QR code drawn with Unicode half blocks for a terminal (two modules per character row), so
 * a phone can scan the join URL or the CA fingerprint straight off the server's console.
 */
export function terminalQr(text: string): Promise<string> {
  return qrToString(text, { type: "terminal", small: true });
}
