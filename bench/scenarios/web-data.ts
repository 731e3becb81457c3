/** What one run of scenario 6 (web) measured; see web.ts for how. */

export type AssetKind = "js" | "css" | "html" | "other";

export interface AssetSize {
  /** Path inside dist, with forward slashes. */
  path: string;
  kind: AssetKind;
  rawBytes: number;
  /** node:zlib gzip, level 9. */
  gzipBytes: number;
  /** node:zlib brotli, quality 11. */
  brotliBytes: number;
}

export interface AssetTotals {
  files: number;
  rawBytes: number;
  gzipBytes: number;
  brotliBytes: number;
}

export interface BundleSizes {
  files: AssetSize[];
  byKind: Record<AssetKind, AssetTotals>;
}

/** JavaScript a part of the client needs, gzip -9, against its budget (bench/web/js-budgets.ts). */
export interface BudgetFigure {
  /** Paths inside dist. */
  files: string[];
  gzipBytes: number;
  budgetBytes: number;
}

export interface JsBudgets {
  /** index.html's module scripts and modulepreloads, and every chunk they import. */
  firstScreen: BudgetFigure;
  /** The lazily loaded password checker and what it imports beyond the first screen; null when not found. */
  passwordChecker: BudgetFigure | null;
}

export interface NavigationFigures {
  browser: string;
  /** chromium.launch, ms (once per run, not part of the navigation figures). */
  launchMs: number;
  /** Page loads tried, each in a fresh browser context (cold cache). */
  attempts: number;
  /** Navigation start to a visible, enabled "Username" textbox, ms, one per successful load. */
  signInMs: number[];
  /** DOMContentLoaded of the same loads, ms from navigation start (browser clock). */
  domContentLoadedMs: number[];
  /** Requests the page made to the server. */
  requests: number;
  /** Requests to any other host, blocked; must be 0. */
  blockedRequests: number;
  blockedHosts: string[];
  /** Why the loads stopped short ("sign-in form not found within 15 s"), or null. */
  note: string | null;
}

/** One build of the browser client in the cold-load comparison (bench/web/cold-loads.ts). */
export interface ColdLoadVariantFigures {
  /** "this build", or "baseline" (--web-baseline). */
  label: string;
  /** Navigation start to an enabled "Username" textbox, fresh context, ms. */
  signInMs: number[];
  /** Navigation start to every room listed, signed-in profile with its caches removed, ms. */
  conversationListMs: number[];
  /** Loads that failed or timed out (not in the figures); absent when none. */
  failed?: number;
}

/** Cold loads of this build (and a baseline build, when given), interleaved in one run. */
export interface ColdLoadComparison {
  rooms: number;
  /** Rounds completed; each loads every variant once, in alternating order. */
  rounds: number;
  viewport: string;
  /** os.loadavg() (1, 5, 15 min) before and after the loads. */
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  variants: ColdLoadVariantFigures[];
  /** Why the loads stopped short, or null. */
  note: string | null;
}

export interface WebData {
  /** "built" (dist was there), "built now" (the scenario ran the build) or "not built". */
  build: "built" | "built now" | "not built";
  buildNote: string | null;
  buildMs: number | null;
  /** The newest file's modification time in dist, ISO. */
  distTime: string | null;
  sizes: BundleSizes | null;
  /** Absent in results written before the budgets were measured. */
  budgets?: JsBudgets | null;
  navigation: NavigationFigures | null;
  /** Why the navigation was not measured (no browser, no build), or null. */
  navigationSkipped: string | null;
  /** Absent in results written before it was measured; null when not measured. */
  coldLoads?: ColdLoadComparison | null;
  /** Why the cold-load comparison was not measured, or null. */
  coldLoadsSkipped?: string | null;
}
