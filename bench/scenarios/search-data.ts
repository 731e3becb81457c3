/** What one run of scenario 8 (local search) measured; see search.ts for how. */

export interface SearchQueryFigures {
  /** What the query is meant to show ("a common word: hits among the newest messages"). */
  what: string;
  query: string;
  /** Hits returned (at most the SDK's page of 50). */
  hits: number;
  /** The first search of the session: every message's text folded for search on the way, ms. */
  coldMs: number;
  /** Each search again (folded texts cached), ms. */
  warmMs: number[];
}

export interface SearchData {
  messages: number;
  conversations: number;
  /** Generating the history (not part of any figure), ms. */
  generateMs: number;
  /** Time to the first (and every) result of each query: the SDK returns a page at once. */
  queries: SearchQueryFigures[];
}
