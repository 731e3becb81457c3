import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import type { Config } from "@parley/server";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../../integration/support/harness.js";
import { TcpRelay } from "../../integration/support/tcp-relay.js";
import { launchChromium, leafSpkiPin } from "./chromium.js";
import { NetworkGuard } from "./network-guard.js";
import { WAIT_MS } from "./wait.js";

/** Where screenshots go (git-ignored: test-results/). */
export const RESULTS_DIR = fileURLToPath(new URL("../../../test-results/e2e/", import.meta.url));

/** The browser client's production build (scripts/run-tests.mjs builds it before the e2e suite). */
const WEB_DIST = fileURLToPath(new URL("../../../packages/web/dist/", import.meta.url));

export const PHONE = { width: 360, height: 740 } as const;
export const DESKTOP = { width: 1440, height: 900 } as const;

export interface UserOptions {
  viewport?: { width: number; height: number };
  /** Opened after the guard is installed; default "/". */
  path?: string;
  /** Reach the server through this relay (see `relay()`) instead of directly. */
  via?: TcpRelay;
}

/**
 * One simulated person on one device: a fresh browser context (its own storage, so its own
 * device keys), one page, and a network guard. Dialogs (alert/confirm) are recorded and
 * dismissed, so a script injected through a message shows up as a recorded dialog.
 */
export interface E2eUser {
  readonly label: string;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly guard: NetworkGuard;
  readonly dialogs: string[];
  readonly pageErrors: string[];
  /** Console messages of type "error" (CSP violations show up here). */
  readonly consoleErrors: string[];
  /** The last console messages of any type, for diagnostics. */
  readonly consoleTail: string[];
  readonly closed: boolean;
  close(): Promise<void>;
}

/**
 * One real Parley server (HTTPS with its own CA, SQLite in a temp dir, mDNS off) and one
 * Chromium per test file. The browser trusts only the server's leaf key (SPKI pin), so a
 * certificate mix-up fails the page load instead of being waved through.
 */
export class E2eSuite {
  readonly #file: string;
  #overrides: Partial<Config>;
  readonly #dataDir: string;
  readonly #users: E2eUser[] = [];
  readonly #relays: TcpRelay[] = [];
  #server: TestServer;
  #browser: Browser;
  #serverDown = false;

  private constructor(
    file: string,
    overrides: Partial<Config>,
    dataDir: string,
    server: TestServer,
    browser: Browser,
  ) {
    this.#file = file;
    this.#overrides = overrides;
    this.#dataDir = dataDir;
    this.#server = server;
    this.#browser = browser;
  }

  /**
   * `fileUrl` is the test file's import.meta.url (names its screenshots); `chromiumArgs` are
   * added to this file's Chromium only (a fake camera, say).
   */
  static async start(
    fileUrl: string,
    overrides: Partial<Config> = {},
    { chromiumArgs = [] }: { chromiumArgs?: readonly string[] } = {},
  ): Promise<E2eSuite> {
    const dataDir = await mkdtemp(join(tmpdir(), "parley-e2e-"));
    const file = basename(fileURLToPath(fileUrl)).replace(/\.test\.ts$/, "");
    // A private copy of the build: a rebuild while the tests run (its hashed asset names
    // change) must not pull the files out from under a running server.
    const webDir = join(dataDir, "web");
    try {
      await cp(WEB_DIST, webDir, { recursive: true, errorOnExist: false });
    } catch (e) {
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(`no web build in ${WEB_DIST}: run npm run build -w @parley/web (${String(e)})`);
    }
    overrides = { webDir, ...overrides };
    const server = await startTestServer(overrides, { dataDir });
    try {
      if (server.ca === null) throw new Error("the e2e suite expects the server's default TLS");
      const pin = await leafSpkiPin(server.url, server.ca);
      const browser = await launchChromium([pin], chromiumArgs);
      await mkdir(RESULTS_DIR, { recursive: true });
      return new E2eSuite(file, overrides, dataDir, server, browser);
    } catch (e) {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
      throw e;
    }
  }

  get server(): TestServer {
    return this.#server;
  }

  get url(): string {
    return this.#server.url;
  }

  /** Every user this suite opened, closed ones included. */
  get users(): readonly E2eUser[] {
    return this.#users;
  }

  /** The file's browser, for tests that need a context outside the suite's bookkeeping. */
  get browser(): Browser {
    return this.#browser;
  }

  /** A new person/device: fresh context, guard installed before the first request. */
  async newUser(label: string, options: UserOptions = {}): Promise<E2eUser> {
    const context = await this.#browser.newContext({
      viewport: options.viewport ?? DESKTOP,
      locale: "en-US",
      timezoneId: "UTC",
      serviceWorkers: "block",
    });
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(WAIT_MS);
    const base = options.via?.via(this.url) ?? this.url;
    const guard = await NetworkGuard.attach(context, base);
    const page = await context.newPage();
    const dialogs: string[] = [];
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];
    const consoleTail: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => {});
    });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
      consoleTail.push(`${new Date().toISOString()} ${m.type()}: ${m.text()}`);
      if (consoleTail.length > 50) consoleTail.shift();
    });
    let closed = false;
    const user: E2eUser = {
      label,
      context,
      page,
      guard,
      dialogs,
      pageErrors,
      consoleErrors,
      consoleTail,
      get closed() {
        return closed;
      },
      async close() {
        if (closed) return;
        closed = true;
        await context.close();
      },
    };
    this.#users.push(user);
    await page.goto(new URL(options.path ?? "/", base).href);
    return user;
  }

  /**
   * A TCP relay to the server that a test can cut and restore: one device losing its network
   * while the server and everyone else stay up. TLS passes through untouched (the leaf covers
   * 127.0.0.1 on any port); the page's origin is the relay's, which the server takes as same
   * origin because the Host header names it too. Playwright's `context.setOffline` cannot do
   * this: in Chromium it leaves open WebSockets open and only holds their frames until online.
   */
  async relay(): Promise<TcpRelay> {
    const relay = new TcpRelay({ hostname: "127.0.0.1", port: this.#server.server.port });
    await relay.listen();
    this.#relays.push(relay);
    return relay;
  }

  /** Saves a full-page screenshot of `user`'s page as test-results/e2e/<file>-<name>.png. */
  async screenshot(user: E2eUser, name: string): Promise<string> {
    const path = join(RESULTS_DIR, `${this.#file}-${slug(name)}.png`);
    await user.page.screenshot({ path, fullPage: true });
    return path;
  }

  /**
   * Runs one test's body: on failure, a screenshot of every open page (and the pages' errors as
   * diagnostics); after it, no context may have tried to reach a host other than the server.
   */
  async check(t: TestContext, body: () => Promise<void>): Promise<void> {
    const seen = new Map(this.#users.map((u) => [u, u.guard.blocked().length]));
    try {
      await body();
    } catch (e) {
      await this.#failureShots(t.name);
      for (const u of this.#users) {
        for (const err of u.pageErrors) t.diagnostic(`${u.label} page error: ${err}`);
        for (const line of u.consoleTail.slice(-15)) t.diagnostic(`${u.label} console ${line}`);
      }
      // The server's warnings and errors (pino levels 40+), never request bodies.
      const serverLines = this.#server.logs
        .join("")
        .split("\n")
        .filter((l) => /"level":(4|5|6)\d/.test(l));
      for (const line of serverLines.slice(-15)) t.diagnostic(`server ${line.slice(0, 400)}`);
      throw e;
    }
    for (const u of this.#users) {
      const fresh = u.guard.blocked().slice(seen.get(u) ?? 0);
      if (fresh.length > 0) {
        throw new Error(
          `${u.label}: request(s) to hosts other than the test server: ${fresh.map((r) => r.url).join(", ")}`,
        );
      }
    }
  }

  /** Every context, closed or open, for the whole file: nothing but the server was asked. */
  assertNetworkClean(): void {
    for (const u of this.#users) u.guard.assertClean(u.label);
  }

  /**
   * Stops the server (sockets closed with 1001) and keeps its data dir and port, to simulate
   * the connection going down. Open pages stay open.
   */
  async stopServer(): Promise<void> {
    if (this.#serverDown) return;
    this.#serverDown = true;
    await this.#server.stop();
  }

  /** Starts the server again on the same port with the same data (accounts, keys, TLS leaf). */
  /** Starts the server again on its port and data dir; `changes` are an operator's new settings. */
  async restartServer(changes: Partial<Config> = {}): Promise<void> {
    if (!this.#serverDown) throw new Error("restartServer() without stopServer()");
    this.#overrides = { ...this.#overrides, ...changes };
    this.#server = await startTestServer(
      { ...this.#overrides, port: this.#server.server.port },
      { dataDir: this.#dataDir },
    );
    this.#serverDown = false;
  }

  /** Closes every context, the browser, the relays and the server; then asserts the guard. */
  async close(): Promise<void> {
    try {
      this.assertNetworkClean();
    } finally {
      await this.#teardown();
    }
  }

  async #teardown(): Promise<void> {
    for (const u of this.#users) await u.close().catch(() => {});
    await this.#browser.close().catch(() => {});
    for (const r of this.#relays) await r.close();
    if (!this.#serverDown) await this.#server.stop();
    await rm(this.#dataDir, { recursive: true, force: true });
  }

  async #failureShots(testName: string): Promise<void> {
    for (const u of this.#users) {
      if (u.closed) continue;
      const path = join(RESULTS_DIR, `${this.#file}-${slug(testName)}-${slug(u.label)}-failure.png`);
      await u.page.screenshot({ path, fullPage: true, timeout: 10_000 }).catch(() => {});
    }
  }
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 80);
}
