/**
 * A certificate fingerprint (`AB:CD:…`, the form `X509Certificate.fingerprint256` gives) cut into
 * lines that end only between bytes, so a terminal or a narrow page never folds it in the middle
 * of one and a person comparing it byte by byte does not misread it. Pure.
 */
export function fingerprintLines(fingerprint: string, bytesPerLine = 16): string[] {
  if (!Number.isSafeInteger(bytesPerLine) || bytesPerLine < 1) {
    throw new RangeError("bytesPerLine must be an integer >= 1");
  }
  const bytes = fingerprint.split(":");
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += bytesPerLine) lines.push(bytes.slice(i, i + bytesPerLine).join(":"));
  return lines;
}

/**
 * How many bytes of a fingerprint fit a line of `columns` characters after `indent` of them
 * (each byte takes three: two hex digits and a colon, the last one two), at least one.
 */
export function fingerprintBytesPerLine(columns: number, indent = 0): number {
  return Math.max(1, Math.floor((columns - indent + 1) / 3));
}
