import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchPlan } from "../plan.js";
import { coldLoadLines } from "../report/web-section.js";
import { pinPrefix } from "../system/pinning.js";
import { startParley } from "../targets/start-parley.js";
import type { RunningServer } from "../targets/target.js";
import { measureDist } from "../web/asset-sizes.js";
import { ensureWebBuilt, WEB_DIST } from "../web/build.js";
import { type ColdLoadVariant, measureColdLoads } from "../web/cold-loads.js";
import { budgetsLine, measureJsBudgets } from "../web/js-budgets.js";
import { measureNavigation } from "../web/navigate.js";
import type { BenchContext, Scenario } from "./types.js";
import type { ColdLoadComparison, WebData } from "./web-data.js";

/** The production build, when the scenario has to run it. */
const BUILD_TIMEOUT_MS = { full: 180_000, quick: 45_000 } as const;
/** Per page load: navigation start to a usable sign-in form. */
const SIGN_IN_TIMEOUT_MS = { full: 15_000, quick: 8_000 } as const;
/** Per cold load in the comparison (sign-in form or conversation list). */
const COLD_LOAD_TIMEOUT_MS = 60_000;
/** Per build in the comparison: registering through its pages and making the rooms. */
const COLD_SETUP_TIMEOUT_MS = 120_000;
/** Rooms the signed-in person of the conversation-list loads has. */
const COLD_ROOMS = 3;

/**
 * Scenario 6, web: what the browser client costs to download and how soon it is usable. Sizes
 * of the production build (packages/web/dist: JS, CSS, raw, gzip -9, brotli 11), then cold page
 * loads of the Parley server's `/` in headless Chromium on loopback, timed to a visible, enabled
 * "Username" textbox. Then cold loads to a usable sign-in form and to a usable conversation list
 * (a signed-in person with three rooms), and with --web-baseline the same loads of another
 * checkout's build, served by that checkout's own Parley server, interleaved (bench/web/cold-loads.ts). Without a build (none
 * there and the build failed), the scenario says "not built"; when the page has no sign-in form,
 * it says so after the time-out.
 */
export const web: Scenario = {
  id: "web",
  number: 6,
  title: "Web: gzipped bundle size, navigation to a usable sign-in form on loopback",
  cases: (plan) => [
    {
      scenario: "web",
      id: "web",
      title: `production bundle sizes; ${plan.webLoads} cold loads of / to a usable sign-in form and conversation list`,
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
      coldLoads: null,
      coldLoadsSkipped: "not built",
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
  const cold = await runColdLoads(ctx, server, plan);
  return {
    ...cold,
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

/** This build's cold loads, interleaved with the --web-baseline build's when there is one. */
async function runColdLoads(
  ctx: BenchContext,
  server: RunningServer,
  plan: BenchPlan,
): Promise<{ coldLoads: ColdLoadComparison | null; coldLoadsSkipped: string | null }> {
  const variants: ColdLoadVariant[] = [{ label: "this build", url: server.httpUrl }];
  let baseline: RunningServer | undefined;
  let dataDir: string | undefined;
  try {
    if (plan.webBaseline !== null) {
      try {
        await access(join(plan.webBaseline, "packages/web/dist/index.html"));
        await access(join(plan.webBaseline, "packages/server/src/main.ts"));
      } catch {
        const skipped = `--web-baseline ${plan.webBaseline}: no built web client and server there`;
        ctx.log(`    cold loads not measured: ${skipped}`);
        return { coldLoads: null, coldLoadsSkipped: skipped };
      }
      dataDir = await mkdtemp(join(tmpdir(), "parley-bench-baseline-"));
      // The baseline checkout's own server and web client: an older client need not speak to
      // this server.
      baseline = await startParley({
        tls: server.httpUrl.startsWith("https:"),
        dataDir,
        pin: pinPrefix(ctx.cores, ctx.cores.serverCores),
        openFiles: server.openFiles ?? 4096,
        label: "parley (web baseline)",
        root: plan.webBaseline,
      });
      variants.push({ label: "baseline", url: baseline.httpUrl });
    }
    const r = await measureColdLoads({
      variants,
      rooms: COLD_ROOMS,
      loads: plan.webLoads,
      timeoutMs: COLD_LOAD_TIMEOUT_MS,
      setupTimeoutMs: COLD_SETUP_TIMEOUT_MS,
      log: ctx.log,
    });
    if ("skipped" in r) {
      ctx.log(`    cold loads not measured: ${r.skipped}`);
      return { coldLoads: null, coldLoadsSkipped: r.skipped };
    }
    for (const line of coldLoadLines(r)) ctx.log(`    ${line}`);
    return { coldLoads: r, coldLoadsSkipped: null };
  } finally {
    await baseline?.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  }
}
