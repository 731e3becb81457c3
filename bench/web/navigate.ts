import { access } from "node:fs/promises";
import type { BrowserContext } from "playwright-core";
import type { NavigationFigures } from "../scenarios/web-data.js";
import { optionalImport } from "../system/optional-import.js";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Flags that keep Chromium from reaching out on its own (updates, sync, field trials, metrics,
 * translation, media router): with them and the request filter below, a run sends nothing off
 * the loopback.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-sync",
  "--metrics-recording-only",
  "--no-first-run",
  "--disable-features=MediaRouter,OptimizationHints,Translate",
];
const LAUNCH_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;

export interface NavigationOptions {
  /** The server's origin, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Cold loads, each in a fresh browser context. */
  loads: number;
  /** Per load: navigation start to a usable sign-in form. */
  timeoutMs: number;
}

type Playwright = typeof import("playwright-core");

/**
 * Loads the server's `/` in headless Chromium (Debian's, through playwright-core) `loads`
 * times, each in a fresh context (no cache, no storage), and times navigation start to the
 * moment the textbox labelled "Username" is visible and enabled. Every request to a host other
 * than the server's is aborted and counted. Stops at the first load that fails or times out
 * and says why, rather than waiting out the rest.
 */
export async function measureNavigation(
  o: NavigationOptions,
): Promise<NavigationFigures | { skipped: string }> {
  const pw = await optionalImport<Playwright>("playwright-core");
  if (!pw) return { skipped: "playwright-core not installed" };
  try {
    await access(CHROMIUM);
  } catch {
    return { skipped: `no Chromium at ${CHROMIUM}` };
  }
  const serverHost = new URL(o.url).hostname;
  let t = performance.now();
  const browser = await pw.chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
  });
  const launchMs = performance.now() - t;
  const out: NavigationFigures = {
    browser: `Chromium ${browser.version()}`,
    launchMs,
    attempts: 0,
    signInMs: [],
    domContentLoadedMs: [],
    requests: 0,
    blockedRequests: 0,
    blockedHosts: [],
    note: null,
  };
  const blockedHosts = new Set<string>();
  const allowed = (url: string): boolean => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    if (u.hostname === serverHost) return true;
    blockedHosts.add(u.host || u.protocol);
    out.blockedRequests += 1;
    return false;
  };
  try {
    for (let i = 0; i < o.loads; i++) {
      const context: BrowserContext = await browser.newContext({
        ignoreHTTPSErrors: o.url.startsWith("https:"),
      });
      try {
        await context.route("**/*", (route) => {
          if (!allowed(route.request().url())) return route.abort("blockedbyclient");
          out.requests += 1;
          return route.continue();
        });
        await context.routeWebSocket(/.*/, (ws) => {
          if (allowed(ws.url())) ws.connectToServer();
          else void ws.close({ code: 1008, reason: "blocked by the benchmark" });
        });
        const page = await context.newPage();
        out.attempts += 1;
        t = performance.now();
        const deadline = t + o.timeoutMs;
        try {
          await page.goto(o.url, { waitUntil: "commit", timeout: o.timeoutMs });
          await page
            .getByLabel("Username")
            .and(page.locator(":enabled"))
            .first()
            .waitFor({ state: "visible", timeout: Math.max(1, deadline - performance.now()) });
        } catch (e) {
          out.note =
            e instanceof Error && e.name === "TimeoutError"
              ? `sign-in form not found within ${Math.round(o.timeoutMs / 1000)} s`
              : `load failed: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`;
          break;
        }
        out.signInMs.push(performance.now() - t);
        // Runs in the page (Navigation Timing Level 2); the string keeps Node's perf_hooks
        // types, which know no "navigation" entries, out of it.
        const dcl = await page.evaluate<number>(
          "performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? NaN",
        );
        out.domContentLoadedMs.push(dcl);
      } finally {
        await context.close();
      }
    }
  } finally {
    await closeWithin(browser.close(), CLOSE_TIMEOUT_MS);
  }
  out.blockedHosts = [...blockedHosts].sort();
  return out;
}

export async function closeWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
