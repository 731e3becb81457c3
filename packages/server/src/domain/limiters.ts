import { RateLimiterMemory, type RateLimiterRes } from "rate-limiter-flexible";
import { ParleyError } from "./errors.js";

/**
 * The part of rate-limiter-flexible's limiters that Parley uses. Counters live in memory on a
 * single server and in Redis when several share one (issue: scale-out), so the domain asks a
 * factory for limiters instead of constructing them.
 */
export interface Limiter {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
  get(key: string): Promise<RateLimiterRes | null>;
  block(key: string, seconds: number): Promise<RateLimiterRes>;
  delete(key: string): Promise<boolean>;
}

export interface LimiterOptions {
  keyPrefix: string;
  points: number;
  /** Window in seconds. */
  duration: number;
}

export type LimiterFactory = (options: LimiterOptions) => Limiter;

export const memoryLimiters: LimiterFactory = (options) => new RateLimiterMemory(options);

/** rate-limiter-flexible rejects with a RateLimiterRes when points run out, or an Error. */
export function isLimiterRejection(e: unknown): e is RateLimiterRes {
  return typeof e === "object" && e !== null && "msBeforeNext" in e && !(e instanceof Error);
}

/** A blocked key reads back with more consumed points than it allows (rate-limiter-flexible's block()). */
export async function blockedFor(limiter: Limiter, key: string, points: number): Promise<number> {
  const res = await limiter.get(key);
  return res !== null && res.consumedPoints > points ? Math.max(1, res.msBeforeNext) : 0;
}

/** Takes one point for `key`, or throws `rate_limited` with the wait when none is left. */
export async function consumeOrRefuse(limiter: Limiter, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (e) {
    if (isLimiterRejection(e)) throw new ParleyError("rate_limited", { retryAfterMs: e.msBeforeNext });
    throw e;
  }
}
