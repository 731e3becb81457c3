import type { BenchPlan } from "../plan.js";
import type { RunningServer } from "../targets/target.js";
import { measureDist } from "../web/asset-sizes.js";
import { ensureWebBuilt, WEB_DIST } from "../web/build.js";
import { budgetsLine, measureJsBudgets } from "../web/js-budgets.js";
import { measureNavigation } from "../web/navigate.js";
import type { BenchContext, Scenario } from "./types.js";
import type { WebData } from "./web-data.js";

/** The production build, when the scenario has to run it. */
const BUILD_TIMEOUT_MS = { full: 180_000, quick: 45_000 } as const;
/** Per page load: navigation start to a usable sign-in form. */
const SIGN_IN_TIMEOUT_MS = { full: 15_000, quick: 8_000 } as const;

/**
 * Scenario 6, web: what the browser client costs to download and how soon it is usable. Sizes
 * of the production build (packages/web/dist: JS, CSS, raw, gzip -9, brotli 11), then cold page
 * loads of the Parley server's `/` in headless Chromium on loopback, timed to a visible, enabled
 * "Username" textbox. Without a build (none there and the build failed), the scenario says
 * "not built"; when the page has no sign-in form, it says so after the time-out.
 */
export const web: Scenario = {
  id: "web",
  number: 6,
  title: "Web: gzipped bundle size, navigation to a usable sign-in form on loopback",
  cases: (plan) => [
    {
      scenario: "web",
      id: "web",
      title: `production bundle sizes; ${plan.webLoads} cold loads of / to a usable sign-in form`,
      targets: ["parley"],
      usesAccounts: false,
      run: async (ctx, server) => ({ kind: "web", web: await runWeb(ctx, server, ctx.plan) }),
    },
  ],
};

async function runWeb(ctx: BenchContext, server: RunningServer, plan: BenchPlan): Promise<WebData> {
  const built = await ensureWebBuilt(BUILD_TIMEOUT_MS[plan.mode]);
  if (built.state === "not built") {
    ctx.log(`    web client not built: ${built.note}`);
    return {
      build: "not built",
      buildNote: built.note,
      buildMs: built.ms,
      distTime: null,
      sizes: null,
      budgets: null,
      navigation: null,
      navigationSkipped: "not built",
    };
  }
  if (built.state === "built now") ctx.log(`    built packages/web in ${(built.ms / 1000).toFixed(1)} s`);
  const { newestMs, ...sizes } = await measureDist(WEB_DIST);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  ctx.log(
    `    JS ${kib(sizes.byKind.js.gzipBytes)} gzip (${kib(sizes.byKind.js.rawBytes)} raw), ` +
      `CSS ${kib(sizes.byKind.css.gzipBytes)} gzip`,
  );
  const budgets = await measureJsBudgets(WEB_DIST, sizes.files);
  ctx.log(`    ${budgetsLine(budgets)}`);
  const nav = await measureNavigation({
    url: `${server.httpUrl}/`,
    loads: plan.webLoads,
    timeoutMs: SIGN_IN_TIMEOUT_MS[plan.mode],
  });
  const skipped = "skipped" in nav ? nav.skipped : null;
  if (skipped) ctx.log(`    navigation not measured: ${skipped}`);
  else if ("note" in nav && nav.note) ctx.log(`    navigation: ${nav.note}`);
  return {
    build: built.state,
    buildNote: null,
    buildMs: built.state === "built now" ? built.ms : null,
    distTime: new Date(newestMs).toISOString(),
    sizes,
    budgets,
    navigation: "skipped" in nav ? null : nav,
    navigationSkipped: skipped,
  };
}
