// Lays a certificate fingerprint out in rows that an 80-column terminal never folds mid-byte.
import { fingerprintLines } from "@parley/protocol";

/**
 * A fingerprint after a label, in rows of 16 whole bytes (47 columns) under one another, so an
 * 80-column terminal never folds it mid-byte: `label` + first row, then the rest aligned under it.
 */
export function fingerprintRows(label: string, fingerprint: string): string[] {
  const pad = " ".repeat(label.length);
  return fingerprintLines(fingerprint).map((row, i) => `${i === 0 ? label : pad}${row}`);
}
