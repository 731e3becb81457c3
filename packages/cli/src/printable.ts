/**
 * Text from the network made safe to print: control characters (escape sequences that could
 * rewrite the terminal, say) become "?".
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, "?");
}
