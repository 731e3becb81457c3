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

/** Why an address is blocked: failed logins (AUTH-3), or an admin's decision with a note. */
export type BlockReason = "brute_force" | "admin";

/** One blocked address as the admin area lists it. */
export interface IpBlock {
  ip: string;
  retryAfterMs: number;
  reason: BlockReason;
  /** The admin's note (admin blocks only; never logged). */
  note: string | null;
  /** The admin who blocked it, or null. */
  blockedBy: { id: string; username: string } | null;
  /** Milliseconds since the epoch. */
  blockedAt: number;
}

interface BlockEntry {
  /** The limiter keys blocked: the forms a socket may report the address in. */
  keys: string[];
  reason: BlockReason;
  note: string | null;
  blockedBy: { id: string; username: string } | null;
  blockedAt: number;
  timer: NodeJS.Timeout;
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
  /** The blocks this server made that have not ended, by the address as listed. */
  readonly #blocks = new Map<string, BlockEntry>();

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
      this.#remember(ip, [ip], this.options.blockS, { reason: "brute_force", note: null, blockedBy: null });
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

  /**
   * An admin blocks an address for `seconds` (its logins are refused as after too many
   * failures). `keys` are the forms the address may arrive in (IPv4 and its IPv4-mapped IPv6
   * form); the block is listed under `ip`. The caller writes the audit entry.
   */
  async blockByAdmin(
    ip: string,
    keys: readonly string[],
    seconds: number,
    by: { id: string; username: string },
    note: string | null,
  ): Promise<void> {
    if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError("seconds must be an integer >= 1");
    for (const key of keys) await this.#ipBlocks.block(key, seconds);
    this.#remember(ip, [...keys], seconds, { reason: "admin", note, blockedBy: by });
  }

  /** Lifts a block by hand (admin). Returns whether the IP was blocked. */
  async unblock(ip: string): Promise<boolean> {
    const entry = this.#blocks.get(ip);
    let was = false;
    for (const key of entry?.keys ?? [ip]) {
      if ((await blockedFor(this.#ipBlocks, key, 1)) > 0) was = true;
      await this.#ipBlocks.delete(key);
      await this.#ipFailures.delete(key);
    }
    if (entry) clearTimeout(entry.timer);
    this.#blocks.delete(ip);
    if (was) this.options.audit({ event: "ip_unblocked", ip, by: "admin" });
    return was;
  }

  /** IPs this server blocked that are still blocked, with the milliseconds left and why. */
  async blockedIps(): Promise<IpBlock[]> {
    const out: IpBlock[] = [];
    for (const [ip, b] of this.#blocks) {
      let ms = 0;
      for (const key of b.keys) ms = Math.max(ms, await blockedFor(this.#ipBlocks, key, 1));
      if (ms > 0)
        out.push({
          ip,
          retryAfterMs: ms,
          reason: b.reason,
          note: b.note,
          blockedBy: b.blockedBy,
          blockedAt: b.blockedAt,
        });
    }
    return out;
  }

  close(): void {
    for (const b of this.#blocks.values()) clearTimeout(b.timer);
    this.#blocks.clear();
  }

  /** Keeps why `ip` is blocked, and records its end by expiry. */
  #remember(
    ip: string,
    keys: string[],
    seconds: number,
    why: Pick<BlockEntry, "reason" | "note" | "blockedBy">,
  ): void {
    const previous = this.#blocks.get(ip);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(() => {
      this.#blocks.delete(ip);
      this.options.audit({ event: "ip_unblocked", ip, by: "expiry" });
    }, seconds * 1000);
    timer.unref();
    this.#blocks.set(ip, { keys, ...why, blockedAt: Date.now(), timer });
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
