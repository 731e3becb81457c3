/**
 * How every Parley client lays out a safety number: its 12 groups of 5 digits as 3 rows of 4,
 * so two people comparing a browser with a terminal read the same rows in the same order.
 */
export const SAFETY_NUMBER_GROUPS_PER_ROW = 4;

/** The groups of a safety number in rows of four (3 rows for the 12 groups of 60 digits). */
export function safetyNumberRows(groups: readonly string[]): string[][] {
  const rows: string[][] = [];
  for (let i = 0; i < groups.length; i += SAFETY_NUMBER_GROUPS_PER_ROW) {
    rows.push(groups.slice(i, i + SAFETY_NUMBER_GROUPS_PER_ROW));
  }
  return rows;
}
