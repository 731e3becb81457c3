// Makes text from the network safe to print: control characters replaced, bidirectional controls dropped.
import { BIDI_CONTROLS } from "@parley/protocol";

/**
 * Text from the network made safe to print: control characters (escape sequences that could
 * rewrite the terminal, say) become "?", and bidirectional controls (U+202E and friends, which
 * reorder what follows them on the line) are dropped. The server refuses both in names and
 * topics (ROOM-10); message text is end-to-end encrypted, so only the client can check it.
 */
export function printable(text: string): string {
  return text.replace(BIDI_CONTROLS, "").replace(/[\p{Cc}\u2028\u2029]/gu, "?");
}
