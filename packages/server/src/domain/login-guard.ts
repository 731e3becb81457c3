import { ParleyError } from "./errors.js";
import { blockedFor, isLimiterRejection, type Limiter, type LimiterFactory } from "./limiters.js";

export interface LoginGuardOptions {
  /** Failed logins from one IP within the window that block it (default 5). */
  maxFailures: number;
  windowS: number;
  blockS: number;
  /** Failures on one account before each further try must wait. */
  accountFreeFailures: number;
  /** Cap of the per-account wait; it doubles per failure up to this. */
  accountMaxDelayS: number;
  limiters: LimiterFactory;
  audit: (event: AuditEvent) => void;
}

export type AuditEvent =
  | { event: "ip_blocked"; ip: string; seconds: number; failures: number }
  | { event: "ip_unblocked"; ip: string; by: "expiry" | "admin" }
  | { event: "account_throttled"; account: string; seconds: number; failures: number };

/**
 * Brute-force defence for logins (DESIGN.md "brute force"):
 * - per IP: `maxFailures` failures within `windowS` block the IP for `blockS`; a blocked IP is
 *   refused before its password is even looked at, so a correct password does not help either.
 * - per account: after `accountFreeFailures` failures (from any IP) each further try must wait
 *   2, 4, 8 ... seconds up to `accountMaxDelayS`. A botnet spreading guesses over many IPs gets a
 *   handful of guesses per minute, and the real user is never locked out for longer than the cap.
 * Counters live in rate-limiter-flexible limiters (memory, or Redis when clustered).
 */
export class LoginGuard {
  readonly #ipFailures: Limiter;
  readonly #ipBlocks: Limiter;
  readonly #accountFailures: Limiter;
  readonly #accountWait: Limiter;
  readonly #unblockTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: LoginGuardOptions) {
    const { limiters } = options;
    this.#ipFailures = limiters({
      keyPrefix: "ids_ip_fail",
      points: options.maxFailures,
      duration: options.windowS,
    });
    this.#ipBlocks = limiters({ keyPrefix: "ids_ip_block", points: 1, duration: options.blockS });
    // The account counter forgets after a quiet quarter of an hour, or at once on a success.
    this.#accountFailures = limiters({ keyPrefix: "ids_acct_fail", points: 1_000_000, duration: 900 });
    this.#accountWait = limiters({
      keyPrefix: "ids_acct_wait",
      points: 1,
      duration: options.accountMaxDelayS,
    });
  }

  /** Throws `ip_blocked` or `account_throttled` (with retryAfterMs) when this try must be refused. */
  async check(ip: string, accountKey: string): Promise<void> {
    const ipWait = await blockedFor(this.#ipBlocks, ip, 1);
    if (ipWait > 0) throw new ParleyError("ip_blocked", { retryAfterMs: ipWait });
    const accountWait = await blockedFor(this.#accountWait, accountKey, 1);
    if (accountWait > 0) throw new ParleyError("account_throttled", { retryAfterMs: accountWait });
  }

  /** Counts a failed login against the IP and the account. */
  async failure(ip: string, accountKey: string): Promise<void> {
    const ipFailures = await consumeCount(this.#ipFailures, ip);
    if (ipFailures >= this.options.maxFailures) {
      await this.#ipBlocks.block(ip, this.options.blockS);
      await this.#ipFailures.delete(ip);
      this.options.audit({ event: "ip_blocked", ip, seconds: this.options.blockS, failures: ipFailures });
      this.#scheduleUnblockAudit(ip);
    }
    const accountFailures = await consumeCount(this.#accountFailures, accountKey);
    const over = accountFailures - this.options.accountFreeFailures;
    if (over >= 0) {
      // The try right after the last free failure waits 1 s, then 2, 4, 8 ... up to the cap.
      const seconds = Math.min(this.options.accountMaxDelayS, 2 ** Math.min(over, 20));
      await this.#accountWait.block(accountKey, seconds);
      this.options.audit({
        event: "account_throttled",
        account: accountKey,
        seconds,
        failures: accountFailures,
      });
    }
  }

  /**
   * A correct password clears that account's failures. The IP's count stays: an attacker with
   * an account of their own must not be able to wipe it by logging in between guesses.
   */
  async success(_ip: string, accountKey: string): Promise<void> {
    await Promise.all([this.#accountFailures.delete(accountKey), this.#accountWait.delete(accountKey)]);
  }

  /** Lifts a block by hand (admin). Returns whether the IP was blocked. */
  async unblock(ip: string): Promise<boolean> {
    const was = (await blockedFor(this.#ipBlocks, ip, 1)) > 0;
    await this.#ipBlocks.delete(ip);
    await this.#ipFailures.delete(ip);
    const timer = this.#unblockTimers.get(ip);
    if (timer) clearTimeout(timer);
    this.#unblockTimers.delete(ip);
    if (was) this.options.audit({ event: "ip_unblocked", ip, by: "admin" });
    return was;
  }

  /** IPs this server blocked that are still blocked, with the milliseconds left. */
  async blockedIps(): Promise<{ ip: string; retryAfterMs: number }[]> {
    const out: { ip: string; retryAfterMs: number }[] = [];
    for (const ip of this.#unblockTimers.keys()) {
      const ms = await blockedFor(this.#ipBlocks, ip, 1);
      if (ms > 0) out.push({ ip, retryAfterMs: ms });
    }
    return out;
  }

  close(): void {
    for (const t of this.#unblockTimers.values()) clearTimeout(t);
    this.#unblockTimers.clear();
  }

  #scheduleUnblockAudit(ip: string): void {
    const previous = this.#unblockTimers.get(ip);
    if (previous) clearTimeout(previous);
    const timer = setTimeout(() => {
      this.#unblockTimers.delete(ip);
      this.options.audit({ event: "ip_unblocked", ip, by: "expiry" });
    }, this.options.blockS * 1000);
    timer.unref();
    this.#unblockTimers.set(ip, timer);
  }
}

async function consumeCount(limiter: Limiter, key: string): Promise<number> {
  try {
    return (await limiter.consume(key)).consumedPoints;
  } catch (e) {
    if (isLimiterRejection(e)) return e.consumedPoints;
    throw e;
  }
}
