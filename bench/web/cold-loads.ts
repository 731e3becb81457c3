import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import type { ColdLoadComparison, ColdLoadVariantFigures } from "../scenarios/web-data.js";
import { optionalImport } from "../system/optional-import.js";
import { CHROMIUM, CHROMIUM_ARGS, closeWithin } from "./navigate.js";

type Playwright = typeof import("playwright-core");

/** A browser client to measure: its label and the Parley server that serves it. */
export interface ColdLoadVariant {
  label: string;
  /** The server's origin, e.g. http://127.0.0.1:41234 */
  url: string;
}

export interface ColdLoadOptions {
  variants: readonly ColdLoadVariant[];
  /** Rooms the signed-in person has, all of which must be listed. */
  rooms: number;
  /** Rounds; each round loads every variant once (in alternating order), sign-in form then list. */
  loads: number;
  /** Per load: navigation start to usable. */
  timeoutMs: number;
  /** Per variant: registering the person and creating the rooms through its own UI. */
  setupTimeoutMs: number;
  log: (line: string) => void;
}

const LAUNCH_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;
const VIEWPORT = { width: 1440, height: 900 } as const;
/** What Chromium keeps between visits besides storage: removed before every cold load. */
const CACHE_DIRS = [
  "Default/Cache",
  "Default/Code Cache",
  "Default/GPUCache",
  "Default/Service Worker/CacheStorage",
  "Default/Service Worker/ScriptCache",
];

/**
 * Cold loads of two (or more) builds of the browser client, interleaved in the same run, each
 * served by its own Parley server: to a usable sign-in form (a fresh, empty browser context) and
 * to a usable conversation list for a signed-in person with `rooms` rooms (a browser profile that
 * keeps the person's session and keys, with its HTTP, code and service-worker caches removed and
 * the browser restarted before every load). "Usable list": every room's entry in the
 * Conversations navigation visible and enabled. The person and rooms are made through each
 * build's own pages (register, New room), as a person would. Requests off the server's host are
 * aborted. The load average is read before and after.
 */
export async function measureColdLoads(
  o: ColdLoadOptions,
): Promise<ColdLoadComparison | { skipped: string }> {
  const pw = await optionalImport<Playwright>("playwright-core");
  if (!pw) return { skipped: "playwright-core not installed" };
  const out: ColdLoadComparison = {
    rooms: o.rooms,
    rounds: 0,
    viewport: `${VIEWPORT.width}x${VIEWPORT.height}`,
    loadAverageBefore: loadavg(),
    loadAverageAfter: [],
    variants: o.variants.map(
      (v): ColdLoadVariantFigures => ({ label: v.label, signInMs: [], conversationListMs: [] }),
    ),
    note: null,
  };
  const profiles: string[] = [];
  let failedInARow = 0;
  const roomNames = Array.from({ length: o.rooms }, (_, i) => `Bench room ${i + 1}`);
  try {
    for (const v of o.variants) {
      const profile = await mkdtemp(join(tmpdir(), "parley-bench-profile-"));
      profiles.push(profile);
      const t = performance.now();
      await withProfile(pw, profile, v.url, async (page) => {
        try {
          await setUp(page, v.url, roomNames, o.setupTimeoutMs);
        } catch (e) {
          const alert = await page
            .getByRole("alert")
            .allTextContents()
            .catch(() => []);
          throw new Error(
            `${v.label}: setting up the signed-in person failed: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` +
              (alert.length > 0 ? ` (page says: ${alert.join("; ")})` : ""),
          );
        }
      });
      o.log(
        `    ${v.label}: registered and made ${o.rooms} rooms in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
    }
    for (let round = 0; round < o.loads; round++) {
      const order = o.variants.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const v = o.variants[i] as ColdLoadVariant;
        const fig = out.variants[i] as ColdLoadVariantFigures;
        // A load that times out is counted and the rounds go on; three in a row end them.
        const attempt = async (what: "signIn" | "list", load: () => Promise<number>) => {
          try {
            (what === "signIn" ? fig.signInMs : fig.conversationListMs).push(await load());
            failedInARow = 0;
          } catch (e) {
            fig.failed = (fig.failed ?? 0) + 1;
            failedInARow += 1;
            if (failedInARow >= 3) throw e;
          }
        };
        await attempt("signIn", () => signInFormLoad(pw, v.url, o.timeoutMs));
        await attempt("list", () =>
          conversationListLoad(pw, profiles[i] as string, v.url, roomNames, o.timeoutMs),
        );
      }
      out.rounds += 1;
    }
  } catch (e) {
    out.note = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "failed";
  } finally {
    for (const p of profiles) await rm(p, { recursive: true, force: true });
  }
  out.loadAverageAfter = loadavg();
  return out;
}

/** Aborts every request and WebSocket to a host other than the server's. */
async function loopbackOnly(context: BrowserContext, url: string): Promise<void> {
  const host = new URL(url).hostname;
  const ok = (u: string) => {
    try {
      return new URL(u).hostname === host;
    } catch {
      return false;
    }
  };
  await context.route("**/*", (route) =>
    ok(route.request().url()) ? route.continue() : route.abort("blockedbyclient"),
  );
  await context.routeWebSocket(/.*/, (ws) => {
    if (ok(ws.url())) ws.connectToServer();
    else void ws.close({ code: 1008, reason: "blocked by the benchmark" });
  });
}

async function withProfile<T>(
  pw: Playwright,
  profile: string,
  url: string,
  f: (page: Page) => Promise<T>,
): Promise<T> {
  const context = await pw.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
    viewport: VIEWPORT,
  });
  try {
    await loopbackOnly(context, url);
    const page = context.pages()[0] ?? (await context.newPage());
    return await f(page);
  } finally {
    await closeWithin(context.close(), CLOSE_TIMEOUT_MS);
  }
}

async function setUp(
  page: Page,
  url: string,
  roomNames: readonly string[],
  timeoutMs: number,
): Promise<void> {
  page.setDefaultTimeout(timeoutMs);
  const username = `bench${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  // Not containing the username, which the server's policy refuses.
  const password = `Quiet-Lantern-${Math.random().toString(36).slice(2, 10)}-Orbit!`;
  await page.goto(`${url}/#/register`);
  const form = page.getByRole("form", { name: "Create account" });
  await form.getByRole("textbox", { name: "Username" }).fill(username);
  await form.getByLabel("Password", { exact: true }).fill(password);
  await form.getByLabel("Confirm password", { exact: true }).fill(password);
  await form.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("me").filter({ hasText: username }).waitFor();
  for (const name of roomNames) {
    await page.getByRole("button", { name: "New room" }).click();
    const dialog = page.getByRole("dialog", { name: "New room" });
    await dialog.getByRole("textbox", { name: "Room name" }).fill(name);
    await dialog.getByRole("button", { name: "Create" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("heading", { level: 2, name, exact: true }).waitFor();
  }
  await waitForList(page, roomNames, timeoutMs);
}

function waitForList(page: Page, roomNames: readonly string[], timeoutMs: number): Promise<unknown> {
  const nav = page.getByRole("navigation", { name: "Conversations" });
  const deadline = performance.now() + timeoutMs;
  return Promise.all(
    roomNames.map((name) =>
      nav
        .getByRole("button", { name: new RegExp(`^${name}(?![\\w.-])`) })
        .and(page.locator(":enabled"))
        .first()
        .waitFor({ state: "visible", timeout: Math.max(1, deadline - performance.now()) }),
    ),
  );
}

/** A fresh context (no cache, no storage): navigation start to an enabled "Username" textbox. */
async function signInFormLoad(pw: Playwright, url: string, timeoutMs: number): Promise<number> {
  const browser = await pw.chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
  });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT });
    await loopbackOnly(context, url);
    const page = await context.newPage();
    const t = performance.now();
    await page.goto(`${url}/`, { waitUntil: "commit", timeout: timeoutMs });
    await page
      .getByLabel("Username")
      .and(page.locator(":enabled"))
      .first()
      .waitFor({ state: "visible", timeout: Math.max(1, t + timeoutMs - performance.now()) });
    return performance.now() - t;
  } finally {
    await closeWithin(browser.close(), CLOSE_TIMEOUT_MS);
  }
}

/** The signed-in profile with its caches removed, a fresh browser: navigation start to every room listed. */
async function conversationListLoad(
  pw: Playwright,
  profile: string,
  url: string,
  roomNames: readonly string[],
  timeoutMs: number,
): Promise<number> {
  for (const dir of CACHE_DIRS) await rm(join(profile, dir), { recursive: true, force: true });
  return withProfile(pw, profile, url, async (page) => {
    const t = performance.now();
    await page.goto(`${url}/`, { waitUntil: "commit", timeout: timeoutMs });
    await waitForList(page, roomNames, Math.max(1, t + timeoutMs - performance.now()));
    return performance.now() - t;
  });
}
