/** The list of servers of one service, and which one the client uses now (sticky round-robin failover). */
import { WS_PATH } from "@parley/protocol";

/**
 * The servers a client may use, and which one it uses now. Several Parley servers that share
 * one Redis and one PostgreSQL are one service (docs/OPERATIONS.md, "Several servers"): any of
 * them accepts the same session, and the durable handshake queue lives in the shared database,
 * so a client whose server died can carry on at another one. The WebSocket and the REST calls
 * share one ServerList, so after a failover both talk to the same server.
 *
 * Rotation is round-robin and sticky: the client stays on a server until it fails, then takes
 * the next one in the list, wrapping around (a server that came back is tried again in turn).
 */
export class ServerList {
  readonly #origins: readonly string[];
  #index = 0;

  /**
   * `baseUrl`: one origin (`https://parley.local:8443`) or a non-empty list of them, tried in
   * order. Anything else throws a TypeError.
   */
  constructor(baseUrl: string | readonly string[]) {
    const list: readonly unknown[] = typeof baseUrl === "string" ? [baseUrl] : baseUrl;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError("options.baseUrl must be a URL or a non-empty array of URLs");
    }
    const origins: string[] = [];
    for (const entry of list) {
      if (typeof entry !== "string" || !/^https?:\/\/[^/]/i.test(entry)) {
        throw new TypeError(`options.baseUrl: ${JSON.stringify(entry)} is not an http(s) URL`);
      }
      const origin = entry.replace(/\/+$/, "");
      if (!origins.includes(origin)) origins.push(origin);
    }
    this.#origins = Object.freeze(origins);
  }

  /** Every server, in the order given, without duplicates or trailing slashes. */
  get all(): readonly string[] {
    return this.#origins;
  }

  get size(): number {
    return this.#origins.length;
  }

  /** The origin in use now. */
  get current(): string {
    return this.#origins[this.#index] as string;
  }

  /** The WebSocket URL of a server (`https:` → `wss:`, plus the protocol's path). */
  static wsUrl(origin: string): string {
    return `${origin.replace(/^http/i, "ws")}${WS_PATH}`;
  }

  /**
   * `failed` stopped answering: moves on to the server after it and returns the one now in
   * use. When the list has already moved away from `failed` (the socket and a REST call saw
   * the same outage), nothing changes, so one outage never skips a healthy server.
   */
  failover(failed: string): string {
    if (failed === this.current) this.#index = (this.#index + 1) % this.#origins.length;
    return this.current;
  }
}
