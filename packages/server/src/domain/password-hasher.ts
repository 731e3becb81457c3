import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { normalizePassword } from "@parley/protocol/password-policy";
import { argon2id } from "argon2";
import { type HashReply, type HashRequest, hashWorkerSource } from "./password-hash-worker.js";

/**
 * Password hashing with argon2id (RFC 9106) through the `argon2` package.
 *
 * The hashes run in a child process at a low scheduling priority (nice 10), never in the
 * server's own process. Argon2 is memory-hard and CPU-bound (about 40 ms a hash); run on libuv's
 * thread pool beside the event loop, a burst of logins took the core from the event loop that
 * relays everyone's messages: the benchmark's login storm (50 logins on a server with one core)
 * raised chat p99 from 8 ms to 108 ms even with at most cores-1 hashes at a time. At nice 10 the
 * kernel gives the hashes mostly what the event loop leaves (`HASH_NICE`), also when both share
 * a single core. The child holds as many hash threads as the server may use cores
 * (`availableParallelism`, which honours CPU affinity; at most 4, since each hash holds 19 MiB).
 *
 * Waiting hashes are served round-robin by account (`FairGate`): a flood of logins or password
 * changes for one account waits behind itself, not in front of other people's logins.
 *
 * Passwords are hashed in their NFKC form (`normalizePassword`), so the same password typed on
 * two keyboards verifies. They reach the child over its IPC pipe and are never logged.
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
 * Runs at most `limit` pieces of work at once. The waiting ones are grouped by key (an account)
 * and served round-robin: the next to start is the oldest waiting piece of the key that was
 * served longest ago (a key never served before goes first). So one key with many pieces waiting
 * delays another key's piece by at most one of its own per free slot, whatever their number.
 */
export class FairGate {
  #running = 0;
  #waiting = 0;
  /** The number of pieces started so far; a key's `served` is this count at its last start. */
  #starts = 0;
  readonly #keys = new Map<string, { served: number; running: number; queue: Array<() => void> }>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be an integer >= 1");
  }

  /** Pieces of work started and not yet finished. */
  get running(): number {
    return this.#running;
  }

  /** Pieces of work waiting for their turn. */
  get waiting(): number {
    return this.#waiting;
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let entry = this.#keys.get(key);
    if (entry === undefined) {
      entry = { served: 0, running: 0, queue: [] };
      this.#keys.set(key, entry);
    }
    if (this.#running < this.limit) this.#start(entry);
    else {
      this.#waiting++;
      // The slot is handed over by the piece that finishes (#next), so #running stays as it is.
      await new Promise<void>((start) => entry.queue.push(start));
    }
    try {
      return await work();
    } finally {
      entry.running--;
      this.#running--;
      if (entry.running === 0 && entry.queue.length === 0) this.#keys.delete(key);
      this.#next();
    }
  }

  #start(entry: { served: number; running: number }): void {
    this.#running++;
    entry.running++;
    entry.served = ++this.#starts;
  }

  #next(): void {
    if (this.#waiting === 0 || this.#running >= this.limit) return;
    let chosen: { served: number; running: number; queue: Array<() => void> } | undefined;
    // Map order is first arrival, so among keys never served the earliest one wins.
    for (const entry of this.#keys.values()) {
      if (entry.queue.length > 0 && (chosen === undefined || entry.served < chosen.served)) chosen = entry;
    }
    const start = chosen?.queue.shift();
    if (chosen === undefined || start === undefined) return;
    this.#waiting--;
    this.#start(chosen);
    start();
  }
}

/**
 * The hashes' scheduling priority (POSIX nice 10): against the event loop's 0 the kernel's fair
 * scheduler weighs them 110 to 1024, so a busy event loop keeps about 90% of a shared core and
 * wakes up ahead of a running hash. Not 19 (weight 15): on a machine loaded by other programs
 * too, hashes at 19 got so little CPU that logins timed out (seen at a load average of 35 on
 * two cores, where a 40 ms hash took tens of seconds).
 */
export const HASH_NICE = 10;

/**
 * One child process running password-hash-worker, started on first use and again after it
 * died. It keeps the server's process alive only while a hash is in flight.
 */
export class HashWorker {
  #child: ChildProcess | undefined;
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve: (value: string | boolean) => void; reject: (e: Error) => void }
  >();

  /** `threads`: how many hashes the child runs at once (its libuv thread pool). */
  constructor(readonly threads: number) {}

  hash(password: string, options: object): Promise<string> {
    return this.#request({ op: "hash", password, options }) as Promise<string>;
  }

  verify(encoded: string, password: string): Promise<boolean> {
    return this.#request({ op: "verify", encoded, password }) as Promise<boolean>;
  }

  /** The child's process id while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Kills the child as a crash would (tests): what is in flight fails, the next hash respawns it. */
  kill(): void {
    this.#child?.kill("SIGKILL");
  }

  /** Stops the child (tests; a server exiting takes its child along through the IPC pipe). */
  stop(): void {
    this.#child?.kill();
    this.#child = undefined;
  }

  #request(body: DistributiveOmit<HashRequest, "id">): Promise<string | boolean> {
    const child = this.#child ?? this.#spawn();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) {
        child.ref();
        child.channel?.ref();
      }
      child.send({ ...body, id } as HashRequest, (e) => {
        if (e) this.#settle(id, child)?.reject(new Error("password hashing process unavailable"));
      });
    });
  }

  #settle(id: number, child: ChildProcess) {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    if (this.#pending.size === 0) {
      child.unref();
      child.channel?.unref();
    }
    return pending;
  }

  #spawn(): ChildProcess {
    // The child lowers its own priority once loaded (password-hash-worker.ts).
    const source = hashWorkerSource(import.meta.resolve("argon2"), HASH_NICE);
    const child = spawn(process.execPath, ["--input-type=module", "--eval", source], {
      env: { ...process.env, UV_THREADPOOL_SIZE: String(this.threads) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.on("message", (reply: HashReply) => {
      const pending = this.#settle(reply.id, child);
      if (reply.ok) pending?.resolve(reply.value);
      else pending?.reject(new Error("argon2 refused the input"));
    });
    const died = () => {
      if (this.#child === child) this.#child = undefined;
      for (const id of [...this.#pending.keys()]) {
        this.#settle(id, child)?.reject(new Error("password hashing process exited"));
      }
    };
    child.on("exit", died);
    child.on("error", died);
    this.#child = child;
    return child;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Hashes that run at once: one per core the server may use, at most 4 (19 MiB each). */
const HASH_THREADS = Math.min(4, Math.max(1, availableParallelism()));

/** The queue in front of the hash process, fair by account. */
export const hashGate = new FairGate(HASH_THREADS);

/** The process that runs the hashes (see the top of this file). */
export const hashWorker = new HashWorker(HASH_THREADS);

/**
 * The PHC-encoded argon2id hash of the NFKC form of `password`, with a fresh random salt.
 * `account` (the normalised username) is the key the queue is fair by.
 */
export async function hashPassword(password: string, account = ""): Promise<string> {
  return hashGate.run(account, () => hashWorker.hash(normalizePassword(password), ARGON2_PARAMETERS));
}

/**
 * True when `password` matches `encoded`. Never throws on a malformed hash: it answers false,
 * and the caller can tell that case apart with `parsePasswordHash` to log it. `account` as for
 * `hashPassword`.
 */
export async function verifyPassword(encoded: string, password: string, account = ""): Promise<boolean> {
  if (parsePasswordHash(encoded) === undefined) return false;
  try {
    return await hashGate.run(account, () => hashWorker.verify(encoded, normalizePassword(password)));
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
 * Does the work of one `verifyPassword` against a hash of a random password nobody knows, and
 * answers false. Call it when the username is unknown, so that such a login takes as long as a
 * wrong password for a real account and response times do not reveal who has an account
 * (OWASP Authentication Cheat Sheet, "Authentication Responses").
 *
 * The hash is made on the first call, which therefore costs two hashes; call it once at start-up
 * to pay that early.
 */
export async function dummyVerify(password = "", account = ""): Promise<false> {
  if (dummyHash === undefined) {
    const pending = hashPassword(randomBytes(32).toString("base64url"));
    dummyHash = pending;
    pending.catch(() => {
      if (dummyHash === pending) dummyHash = undefined;
    });
  }
  await verifyPassword(await dummyHash, password, account);
  return false;
}
