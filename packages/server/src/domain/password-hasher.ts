import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { normalizePassword } from "@parley/protocol/password-policy";
import { argon2id, hash, verify } from "argon2";

/**
 * Password hashing with argon2id (RFC 9106) through the `argon2` package, which runs each hash
 * on libuv's thread pool, off the event loop. That pool is shared with fs and dns.lookup and
 * holds 4 threads unless UV_THREADPOOL_SIZE says otherwise. Left alone, a burst of logins puts
 * four hashes on the cores at once and the event loop, which relays everyone's messages, gets a
 * fifth of a core: the benchmark's login storm (50 logins on a server with one core) raised
 * chat p99 from 9 ms to 1.7 s. So at most one hash less than there are cores runs at a time
 * (at least one; `availableParallelism` honours the process's CPU affinity), the rest wait
 * their turn in order, and the per-IP and per-account login limits keep that queue short.
 * Measured in one session (3 repetitions each): chat p99 during the storm 65 ms with the gate,
 * 454 ms without; the 50 logins took 2.8 s and 3.1 s.
 *
 * Passwords are hashed in their NFKC form (`normalizePassword`), so the same password typed on
 * two keyboards verifies.
 */

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

/** Argon2 version 1.3, the only one `hash` writes. */
const ARGON2_VERSION = 0x13;

export interface PasswordHashParameters {
  readonly algorithm: "argon2id" | "argon2i" | "argon2d";
  readonly version: number;
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

// PHC string format, as the argon2 package writes it: $argon2id$v=19$m=19456,p=1,t=2$<salt>$<hash>
const PHC_ARGON2 =
  /^\$(argon2id|argon2i|argon2d)\$v=(\d{1,3})\$([a-z]=\d{1,10}(?:,[a-z]=\d{1,10})*)\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{11,}$/;

/**
 * Reads the parameters of an encoded argon2 hash; undefined when it is not one (an empty or
 * truncated column, another algorithm). Lets a caller log a broken stored hash by its shape.
 */
export function parsePasswordHash(encoded: string): PasswordHashParameters | undefined {
  const match = PHC_ARGON2.exec(encoded);
  if (!match) return undefined;
  const [, algorithm, version, paramList] = match;
  if (algorithm === undefined || version === undefined || paramList === undefined) return undefined;
  const params = new Map<string, number>();
  for (const pair of paramList.split(",")) {
    const [key = "", value = ""] = pair.split("=");
    if (params.has(key)) return undefined;
    params.set(key, Number(value));
  }
  const m = params.get("m");
  const t = params.get("t");
  const p = params.get("p");
  if (params.size !== 3 || m === undefined || t === undefined || p === undefined) return undefined;
  return {
    // The pattern admits only these three names.
    algorithm: algorithm as PasswordHashParameters["algorithm"],
    version: Number(version),
    memoryCost: m,
    timeCost: t,
    parallelism: p,
  };
}

/**
 * Runs at most `limit` pieces of work at once; the others start in the order they came as
 * running ones finish.
 */
export class WorkGate {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be an integer >= 1");
  }

  /** Pieces of work started and not yet finished. */
  get running(): number {
    return this.#running;
  }

  /** Pieces of work waiting for their turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running < this.limit) this.#running++;
    // The slot is handed over by the piece that finishes, so #running stays as it is.
    else await new Promise<void>((start) => this.#waiting.push(start));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** argon2 hashes in progress: one core is left to the event loop (see the top of this file). */
export const hashGate = new WorkGate(Math.max(1, availableParallelism() - 1));

/** The PHC-encoded argon2id hash of the NFKC form of `password`, with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  return hashGate.run(() => hash(normalizePassword(password), ARGON2_PARAMETERS));
}

/**
 * True when `password` matches `encoded`. Never throws on a malformed hash: it answers false,
 * and the caller can tell that case apart with `parsePasswordHash` to log it.
 */
export async function verifyPassword(encoded: string, password: string): Promise<boolean> {
  if (parsePasswordHash(encoded) === undefined) return false;
  try {
    return await hashGate.run(() => verify(encoded, normalizePassword(password)));
  } catch {
    // Well-formed on the surface but refused by argon2 (salt too short, memory cost too small, ...).
    return false;
  }
}

/**
 * True when `encoded` was made with weaker settings than `ARGON2_PARAMETERS` (less memory, fewer
 * passes), another lane count, another argon2 variant or version, or is not an argon2 hash at
 * all. Call after a successful login and store `hashPassword(password)` when it says so.
 * Stronger settings than the current ones are kept, so lowering the cost never downgrades a hash.
 */
export function needsRehash(encoded: string): boolean {
  const params = parsePasswordHash(encoded);
  if (params === undefined) return true;
  return (
    params.algorithm !== "argon2id" ||
    params.version !== ARGON2_VERSION ||
    params.memoryCost < ARGON2_PARAMETERS.memoryCost ||
    params.timeCost < ARGON2_PARAMETERS.timeCost ||
    params.parallelism !== ARGON2_PARAMETERS.parallelism
  );
}

let dummyHash: Promise<string> | undefined;

/**
 * The hash `dummyVerify` checks against: made once, on first use, from a random password nobody
 * knows, with the same parameters as every stored password.
 */
export function dummyPasswordHash(): Promise<string> {
  if (dummyHash === undefined) {
    const pending = hashPassword(randomBytes(32).toString("base64url"));
    dummyHash = pending;
    pending.catch(() => {
      if (dummyHash === pending) dummyHash = undefined;
    });
  }
  return dummyHash;
}

/**
 * Does the work of one `verifyPassword` against `dummyPasswordHash()`, and answers false. Call it
 * when the username is unknown, so that such a login takes as long as a wrong password for a real
 * account and response times do not reveal who has an account (OWASP Authentication Cheat
 * Sheet, "Authentication Responses").
 *
 * The hash is made on the first call, which therefore costs two hashes; call it once at start-up
 * to pay that early.
 */
export async function dummyVerify(password = ""): Promise<false> {
  await verifyPassword(await dummyPasswordHash(), password);
  return false;
}
