/**
 * Names and topics that other people's clients display (room names and topics, ROOM-2) must not
 * carry characters that change how the text around them is shown: C0/C1 controls (NUL, escape
 * sequences, line breaks), bidirectional controls (Unicode TR 9, e.g. U+202E RIGHT-TO-LEFT
 * OVERRIDE, the "Trojan Source" trick), other format characters, the line and paragraph
 * separators, and unassigned or private-use code points. Zero-width joiners (U+200C, U+200D)
 * stay allowed: emoji sequences and several scripts need them, but text made only of invisible
 * characters is refused too.
 */
const FORBIDDEN = /[\p{Cc}\p{Co}\p{Cn}\p{Cs}\u2028\u2029]|(?![\u200C\u200D])\p{Cf}/u;
const VISIBLE = /[^\s\p{Cf}\p{M}\u3164\u115F\u1160\uFFA0\u2800]/u;

/** True when `text` may be shown to others as a name or topic (see above). */
export function isDisplayText(text: string): boolean {
  return !FORBIDDEN.test(text) && VISIBLE.test(text);
}

/** Bidirectional control characters (Unicode TR 9): printing them reorders what follows. */
export const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;
