import type { BrowserContext, Page } from "playwright-core";

/** One request the page tried to make, and whether the guard let it through. */
export interface GuardedRequest {
  readonly url: string;
  readonly kind: "http" | "websocket";
  readonly allowed: boolean;
}

/**
 * Keeps a browser context on the test server (issue 4: "no request leaves for any host but the
 * server"). Every HTTP request and WebSocket is recorded; anything whose origin is not the
 * server's is aborted before it leaves, and `assertClean` fails the test that caused it.
 * data: and blob: URLs never reach the network and are not routed by Playwright.
 */
export class NetworkGuard {
  readonly requests: GuardedRequest[] = [];
  readonly #origins: ReadonlySet<string>;

  private constructor(serverUrl: string) {
    const u = new URL(serverUrl);
    const ws = u.protocol === "https:" ? "wss:" : "ws:";
    this.#origins = new Set([u.origin, `${ws}//${u.host}`]);
  }

  /** Installs the guard on `context` before any page is opened in it. */
  static async attach(context: BrowserContext, serverUrl: string): Promise<NetworkGuard> {
    const guard = new NetworkGuard(serverUrl);
    await context.route(
      () => true,
      async (route) => {
        const url = route.request().url();
        const allowed = guard.allows(url);
        guard.requests.push({ url, kind: "http", allowed });
        if (allowed) await route.continue();
        else await route.abort("blockedbyclient");
      },
    );
    // Only foreign WebSockets are routed: the server's own pass through untouched.
    await context.routeWebSocket(
      (url) => !guard.allows(url.href),
      (ws) => {
        guard.requests.push({ url: ws.url(), kind: "websocket", allowed: false });
        void ws.close({ code: 1008, reason: "blocked by the e2e network guard" });
      },
    );
    const recordSocket = (page: Page) =>
      page.on("websocket", (ws) => {
        if (guard.allows(ws.url())) guard.requests.push({ url: ws.url(), kind: "websocket", allowed: true });
      });
    for (const page of context.pages()) recordSocket(page);
    context.on("page", recordSocket);
    return guard;
  }

  allows(url: string): boolean {
    if (url.startsWith("data:") || url.startsWith("blob:")) return true;
    try {
      return this.#origins.has(new URL(url).origin);
    } catch {
      return false;
    }
  }

  /** Requests to any other host, each of which was aborted. */
  blocked(): GuardedRequest[] {
    return this.requests.filter((r) => !r.allowed);
  }

  /** Throws if the page tried to reach any host but the server. */
  assertClean(who: string): void {
    const blocked = this.blocked();
    if (blocked.length > 0) {
      throw new Error(
        `${who}: ${blocked.length} request(s) to hosts other than the test server: ${blocked
          .slice(0, 10)
          .map((r) => `${r.kind} ${r.url}`)
          .join(", ")}`,
      );
    }
  }
}
