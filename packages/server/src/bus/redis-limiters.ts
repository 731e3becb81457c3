import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import type { LimiterFactory } from "../domain/limiters.js";

export interface RedisLimitersOptions {
  /** `redis://` or `rediss://` URL (REDIS_URL). */
  url: string;
  /** Prefix of every key, the bus's prefix (default `parley:`); counters live under `<prefix>rl:`. */
  keyPrefix?: string;
  /** Shown by `CLIENT LIST`; default `parley:limiters`. */
  connectionName?: string;
  /** Longest a Redis command may take before the in-memory insurance answers. Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Delay before reconnect attempt `attempt`, or null to give up. Default 50 ms per attempt, at most 2 s. */
  retryDelayMs?: (attempt: number) => number | null;
}

/**
 * Login-defence and rate-limit counters shared by every server on one Redis (DESIGN.md "brute
 * force": cluster-wide when on Redis), through rate-limiter-flexible's Redis store. Each limiter
 * has an in-memory twin as its insurance: while Redis does not answer, counting goes on per
 * server, so an outage neither blocks everybody nor lets a login request fail or hang.
 */
export class RedisLimiters {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(options: RedisLimitersOptions) {
    this.#prefix = `${options.keyPrefix ?? "parley:"}rl:`;
    const retryDelayMs = options.retryDelayMs ?? ((attempt: number) => Math.min(attempt * 50, 2000));
    this.#client = new Redis(options.url, {
      connectionName: options.connectionName ?? "parley:limiters",
      commandTimeout: options.commandTimeoutMs ?? 1000,
      // Refuse at once while disconnected, so the insurance limiter answers without a wait.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => retryDelayMs(attempt),
    });
    // Failures surface as rejected commands, which the insurance absorbs; the bus logs outages.
    this.#client.on("error", () => undefined);
  }

  readonly factory: LimiterFactory = (options) =>
    new RateLimiterRedis({
      storeClient: this.#client,
      keyPrefix: `${this.#prefix}${options.keyPrefix}`,
      points: options.points,
      duration: options.duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });

  /** True while the counters are cluster-wide (Redis answers). */
  connected(): boolean {
    return this.#client.status === "ready";
  }

  async close(): Promise<void> {
    if (this.#client.status === "end") return;
    try {
      if (this.#client.status !== "ready") throw new Error("not connected");
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }
}
