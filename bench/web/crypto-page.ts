/**
 * The page side of the crypto scenario's Chromium case: the same measurement code as the Node
 * case (crypto-ops.ts), bundled for the browser by crypto-in-chromium.ts and run in a page.
 */
import type { MlsSuite } from "@parley/protocol";
import { type MlsPlan, measureMls } from "../scenarios/crypto-ops.js";

declare global {
  // Read by the benchmark through page.evaluate.
  var parleyCryptoBench: (plan: MlsPlan, suite: MlsSuite) => Promise<{ data: unknown; lines: string[] }>;
}

globalThis.parleyCryptoBench = async (plan, suite) => {
  const lines: string[] = [];
  const data = await measureMls(
    plan,
    suite,
    "@parley/crypto in Chromium (WebCrypto where present, @noble otherwise)",
    (l) => lines.push(l),
  );
  return { data, lines };
};
