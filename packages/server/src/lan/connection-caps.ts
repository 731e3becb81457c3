/** Caps on open TCP connections, in all and per peer address, checked before TLS starts. */

export type CapRefusal = "global" | "per_ip";

export interface ConnectionCapsOptions {
  /** Open connections in all; the next is closed at once. */
  readonly maxTotal: number;
  /** Open connections from one peer address. */
  readonly maxPerIp: number;
  /** Peers the per-address cap does not apply to (trusted reverse proxies carry many people). */
  readonly exempt?: (ip: string) => boolean;
}

/**
 * Issue 15.6: idle and pre-auth sockets hold file descriptors, so one machine on the LAN could
 * hold them all and make logins and /healthz fail for everyone. Every TCP connection is counted
 * from its `connection` event to its `close`, pre-auth WebSockets and keep-alive HTTP alike;
 * over either cap it is closed before its TLS handshake costs anything.
 */
export class ConnectionCaps {
  readonly #o: ConnectionCapsOptions;
  readonly #perIp = new Map<string, number>();
  #total = 0;

  constructor(options: ConnectionCapsOptions) {
    this.#o = options;
  }

  get total(): number {
    return this.#total;
  }

  /** Open connections from `ip`. */
  from(ip: string): number {
    return this.#perIp.get(ip) ?? 0;
  }

  /** Counts a new connection, or says which cap refuses it (and then counts nothing). */
  admit(ip: string): CapRefusal | undefined {
    if (this.#total >= this.#o.maxTotal) return "global";
    const mine = this.#perIp.get(ip) ?? 0;
    if (mine >= this.#o.maxPerIp && !this.#o.exempt?.(ip)) return "per_ip";
    this.#total++;
    this.#perIp.set(ip, mine + 1);
    return undefined;
  }

  /** A connection `admit` counted has closed. */
  release(ip: string): void {
    const mine = this.#perIp.get(ip) ?? 0;
    if (mine <= 1) this.#perIp.delete(ip);
    else this.#perIp.set(ip, mine - 1);
    this.#total = Math.max(0, this.#total - 1);
  }
}
