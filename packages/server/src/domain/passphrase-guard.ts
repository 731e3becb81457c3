import { ParleyError } from "./errors.js";
import { blockedFor, isLimiterRejection, type Limiter, type LimiterFactory } from "./limiters.js";
import { verifyPassword } from "./password-hasher.js";

export interface PassphraseGuardOptions {
  limiters: LimiterFactory;
  /** Wrong passphrases from one account within `windowS` that block it for `blockS` (default 5 in 300 s, for 300 s). */
  maxFailures?: number;
  windowS?: number;
  blockS?: number;
}

/**
 * ROOM-15: checks a room's join passphrase against its argon2id hash, and limits guessing like
 * logins are limited (DESIGN.md "brute force"): `maxFailures` wrong passphrases from one account,
 * over every room, within `windowS` block that account's passphrase tries for `blockS`. A blocked
 * account is refused before the hash is computed, so the right passphrase does not help either
 * and a guesser cannot keep the server's hash gate busy.
 */
export class PassphraseGuard {
  readonly #failures: Limiter;
  readonly #blocks: Limiter;
  readonly #maxFailures: number;
  readonly #blockS: number;

  constructor(options: PassphraseGuardOptions) {
    this.#maxFailures = options.maxFailures ?? 5;
    this.#blockS = options.blockS ?? 300;
    this.#failures = options.limiters({
      keyPrefix: "room_pass_fail",
      points: this.#maxFailures,
      duration: options.windowS ?? 300,
    });
    this.#blocks = options.limiters({ keyPrefix: "room_pass_block", points: 1, duration: this.#blockS });
  }

  /**
   * Resolves when `passphrase` opens the room whose hash is `hash`; otherwise throws
   * `passphrase_throttled` (with retryAfterMs), `passphrase_required` or `wrong_passphrase`.
   */
  async check(userId: string, hash: string, passphrase: string | undefined): Promise<void> {
    const wait = await blockedFor(this.#blocks, userId, 1);
    if (wait > 0) throw new ParleyError("passphrase_throttled", { retryAfterMs: wait });
    if (passphrase === undefined) throw new ParleyError("passphrase_required");
    if (await verifyPassword(hash, passphrase)) return;
    let failures: number;
    try {
      failures = (await this.#failures.consume(userId)).consumedPoints;
    } catch (e) {
      if (!isLimiterRejection(e)) throw e;
      failures = e.consumedPoints;
    }
    if (failures >= this.#maxFailures) {
      await this.#blocks.block(userId, this.#blockS);
      await this.#failures.delete(userId);
    }
    throw new ParleyError("wrong_passphrase");
  }
}
