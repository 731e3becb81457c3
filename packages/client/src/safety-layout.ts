/**
 * The one layout of a safety number both clients show (issue 14): the 12 groups of 5 digits
 * as 3 rows of 4. Three rows fit a phone's width and an 80-column terminal alike, and people
 * comparing a browser with a terminal read the same rows in the same order.
 */
export const SAFETY_NUMBER_ROWS = 3;
export const SAFETY_NUMBER_GROUPS_PER_ROW = 4;

/** `groups` (12 groups of 5 digits) as 3 rows of 4 groups joined by single spaces. */
export function safetyNumberRows(groups: readonly string[]): string[] {
  const rows: string[] = [];
  for (let i = 0; i < groups.length; i += SAFETY_NUMBER_GROUPS_PER_ROW) {
    rows.push(groups.slice(i, i + SAFETY_NUMBER_GROUPS_PER_ROW).join(" "));
  }
  return rows;
}
