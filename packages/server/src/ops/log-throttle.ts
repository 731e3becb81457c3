/**
 * At most one log line per event kind per interval: what a client can make the server log must
 * not grow with how often it tries (issue 15.8). Returns the number of events folded into the
 * line it lets through (0 when the caller must stay quiet).
 */
export class LogThrottle {
  readonly #last = new Map<string, { at: number; folded: number }>();

  constructor(
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  take(kind: string): number {
    const now = this.now();
    const entry = this.#last.get(kind);
    if (entry && now - entry.at < this.intervalMs) {
      entry.folded++;
      return 0;
    }
    const folded = (entry?.folded ?? 0) + 1;
    // Bounded: kinds are the server's own event names, a handful of them.
    this.#last.set(kind, { at: now, folded: 0 });
    return folded;
  }
}
