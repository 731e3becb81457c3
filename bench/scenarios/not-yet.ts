import type { Scenario } from "./types.js";

/**
 * Scenarios that other issues will fill in. To add one: give it `cases` that return BenchCase
 * objects (see fanout.ts for a traffic case; a case that needs no server can ignore the one it
 * is given), add a `CaseData` kind in types.ts and a section in report/markdown.ts, and drop
 * `unavailable`.
 */

export const crypto: Scenario = {
  id: "crypto",
  number: 5,
  title: "Crypto: MLS encrypt/decrypt msgs/s, add 1/10/100 members, Welcome at 100, state size",
  cases: () => [],
  unavailable: "not yet available: comes with the end-to-end encryption (MLS client) issue",
};

export const web: Scenario = {
  id: "web",
  number: 6,
  title: "Web: gzipped bundle size, navigation to a usable sign-in form on loopback",
  cases: () => [],
  unavailable: "not yet available: comes with the browser-client issue",
};
