/** The argon2id cost every stored password is hashed with (shared by the server and its hasher process). */
import { argon2id } from "argon2";

/**
 * OWASP Password Storage Cheat Sheet's minimum argon2id configuration: 19 MiB, 2 passes, 1 lane
 * (about 40 ms per hash on one core of the development machine). Stronger settings cost every concurrent login that much memory
 * on the small machines Parley runs on (a Raspberry Pi, an old office PC); the guesser is slowed
 * mostly by the login rate limits, and a stolen disk meets 19 MiB per guess. Raising a value
 * here makes `needsRehash` ask for a rehash at each user's next login.
 */
export const ARGON2_PARAMETERS = Object.freeze({
  type: argon2id,
  /** KiB */
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  /** Bytes of output; the salt is 16 random bytes (the package's default). */
  hashLength: 32,
});
