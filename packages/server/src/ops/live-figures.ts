import type { Metrics } from "./metrics.js";
import { RateWindow } from "./rate-window.js";

/** How often the rates' counters are sampled: the figures are exact to within this. */
export const LIVE_FIGURES_STEP_MS = 5_000;

/**
 * The admin area's live rates (issue 19), read from the counters /metrics exports: messages in
 * the last minute and refused sign-ins in the last hour, on this server.
 */
export class LiveFigures {
  readonly #messages: RateWindow;
  readonly #loginFailures: RateWindow;
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(
    readonly metrics: Metrics,
    now: () => number = Date.now,
  ) {
    this.#now = now;
    const start = now();
    this.#messages = new RateWindow(() => metrics.messages, 60_000, start);
    this.#loginFailures = new RateWindow(() => metrics.loginFailures, 3_600_000, start);
    this.#timer = setInterval(() => {
      const at = this.#now();
      this.#messages.sample(at);
      this.#loginFailures.sample(at);
    }, LIVE_FIGURES_STEP_MS);
    this.#timer.unref();
  }

  messagesPerMinute(): number {
    return this.#messages.growth(this.#now());
  }

  failedLoginsPerHour(): number {
    return this.#loginFailures.growth(this.#now());
  }

  /** Open WebSocket connections on this server (the parley_ws_connections gauge). */
  async connections(): Promise<number> {
    const value = (await this.metrics.connections.get()).values[0]?.value ?? 0;
    return Math.max(0, Math.round(value));
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
