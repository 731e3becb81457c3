import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { availableParallelism, constants, setPriority } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { normalizePassword } from "@parley/protocol/password-policy";
import { hash, verify } from "argon2";
import { ARGON2_PARAMETERS } from "./argon2-parameters.js";

export { ARGON2_PARAMETERS } from "./argon2-parameters.js";

/**
 * Password hashing with argon2id (RFC 9106) through the `argon2` package, in a child process of
 * its own at a lower scheduling priority (nice 10, `HashProcess`). On a one-core deployment the
 * kernel then gives the event loop, which relays everyone's messages, about nine tenths of the
 * core whenever it has work, and argon2 what is left; in the server's own process argon2 ran on
 * libuv's threads at the event loop's priority and took half the core or more. The benchmark's
 * login storm (50 logins during chat on a server pinned to one core) raised chat p99 13-fold.
 *
 * At most one hash less than there are cores runs at a time (at least one; `availableParallelism`
 * honours the process's CPU affinity), and the others wait their turn fairly: one queue per
 * client address, served in turn (`WorkGate`), so a flood of password changes or logins from one
 * address delays that address, not everybody else's sign-in.
 *
 * Passwords are hashed in their NFKC form (`normalizePassword`), so the same password typed on
 * two keyboards verifies.
 */

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
 * Runs at most `limit` pieces of work at once. The others wait in one queue per key (a client
 * address) and start in turn across keys, oldest first within a key, as running ones finish.
 */
export class WorkGate {
  #running = 0;
  /** key -> starters waiting; Map order is the turn: a key that was served goes to the back. */
  readonly #waiting = new Map<string, Array<() => void>>();
  #count = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be an integer >= 1");
  }

  /** Pieces of work started and not yet finished. */
  get running(): number {
    return this.#running;
  }

  /** Pieces of work waiting for their turn. */
  get waiting(): number {
    return this.#count;
  }

  async run<T>(work: () => Promise<T>, key = ""): Promise<T> {
    if (this.#running < this.limit) this.#running++;
    // The slot is handed over by the piece that finishes, so #running stays as it is.
    else
      await new Promise<void>((start) => {
        const queue = this.#waiting.get(key);
        if (queue) queue.push(start);
        else this.#waiting.set(key, [start]);
        this.#count++;
      });
    try {
      return await work();
    } finally {
      const next = this.#next();
      if (next) next();
      else this.#running--;
    }
  }

  #next(): (() => void) | undefined {
    for (const [key, queue] of this.#waiting) {
      const start = queue.shift();
      this.#waiting.delete(key);
      if (queue.length > 0) this.#waiting.set(key, queue);
      if (start) {
        this.#count--;
        return start;
      }
    }
    return undefined;
  }
}

/** argon2 hashes in progress: one core is left to the event loop (see the top of this file). */
export const hashGate = new WorkGate(Math.max(1, availableParallelism() - 1));

/** The niceness of the hasher process: the event loop gets about 90% of a shared core. */
export const HASHER_NICE = 10;

/** The hasher process died or could not start; the request may be tried again. */
export class HasherUnavailableError extends Error {
  constructor() {
    super("the password hasher is not available");
    this.name = "HasherUnavailableError";
  }
}

type Answer = { readonly id: number; readonly ok: boolean; readonly value?: unknown };

/**
 * One long-lived child process that hashes and verifies (hasher-child.ts), started on first use
 * and again after it dies. It never keeps the server's process alive: its channel holds the
 * event loop only while an answer is awaited, and it exits when the server goes away. Where a
 * child process cannot be started, hashing runs in this process as before.
 */
export class HashProcess {
  #child: ChildProcess | undefined;
  readonly #pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  #next = 0;
  #inProcess = false;
  /** Children started so far (a test watches a restart). */
  started = 0;

  /** The child's pid while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async hash(password: string): Promise<string> {
    if (this.#inProcess) return hash(password, ARGON2_PARAMETERS);
    const answer = await this.#ask({ op: "hash", password });
    if (!answer.ok || typeof answer.value !== "string") throw new Error("argon2 refused to hash");
    return answer.value;
  }

  /** Throws when argon2 refuses the stored hash (the caller answers "no"), or the child died. */
  async verify(encoded: string, password: string): Promise<boolean> {
    if (this.#inProcess) return verify(encoded, password);
    const answer = await this.#ask({ op: "verify", password, encoded });
    if (!answer.ok) throw new Error("argon2 refused the stored hash");
    return answer.value === true;
  }

  /** Stops the child (tests); the next request starts another. */
  stop(): void {
    this.#child?.kill();
  }

  #ask(request: { op: "hash" | "verify"; password: string; encoded?: string }): Promise<Answer> {
    const child = this.#spawn();
    if (child === undefined) {
      this.#inProcess = true;
      return request.op === "hash"
        ? hash(request.password, ARGON2_PARAMETERS).then((value) => ({ id: 0, ok: true, value }))
        : verify(request.encoded ?? "", request.password).then(
            (value) => ({ id: 0, ok: true, value }),
            () => ({ id: 0, ok: false }),
          );
    }
    const id = ++this.#next;
    return new Promise<Answer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) {
        child.ref();
        child.channel?.ref();
      }
      child.send({ id, ...request }, (error) => {
        if (error) this.#settle(id)?.reject(new HasherUnavailableError());
      });
    });
  }

  #settle(id: number) {
    const p = this.#pending.get(id);
    this.#pending.delete(id);
    if (this.#pending.size === 0) {
      this.#child?.unref();
      this.#child?.channel?.unref();
    }
    return p;
  }

  #spawn(): ChildProcess | undefined {
    if (this.#child !== undefined) return this.#child;
    // The child is this module's sibling, as source (.ts, run through the same loader) or built (.js).
    const here = fileURLToPath(import.meta.url);
    const path = fileURLToPath(new URL(`./hasher-child${extname(here)}`, import.meta.url));
    let child: ChildProcess;
    try {
      child = fork(path, [], {
        execArgv: loaderFlags(process.execArgv),
        stdio: ["ignore", "ignore", "inherit", "ipc"],
        serialization: "json",
      });
    } catch {
      return undefined;
    }
    this.#child = child;
    this.started++;
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, Math.min(constants.priority.PRIORITY_LOW, HASHER_NICE));
      } catch {
        // Not allowed here (a container without the capability): it still runs off the event loop.
      }
    }
    child.unref();
    child.channel?.unref();
    child.on("message", (m: unknown) => {
      const a = m as Answer;
      if (typeof a?.id === "number") this.#settle(a.id)?.resolve(a);
    });
    const gone = () => {
      if (this.#child !== child) return;
      const pending = [...this.#pending.keys()].map((id) => this.#settle(id));
      this.#child = undefined;
      for (const p of pending) p?.reject(new HasherUnavailableError());
    };
    child.on("exit", gone);
    child.on("error", gone);
    return child;
  }
}

/**
 * The flags that decide how the child's module is loaded (tsx, export conditions), and nothing
 * else of how this process was started: never `-e` or `--eval` (the child would run that code and
 * start a hasher of its own, and so on), nor a test runner's or an inspector's flags.
 */
export function loaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i] ?? "";
    if (/^--(import|require|loader|experimental-loader|conditions)$/.test(a) || a === "-r" || a === "-C") {
      const value = execArgv[i + 1];
      if (value !== undefined) out.push(a, value);
      i++;
    } else if (/^--(import|require|loader|experimental-loader|conditions)=/.test(a)) {
      out.push(a);
    }
  }
  return out;
}

/** The server's hasher process. */
export const hasher = new HashProcess();

/** Runs a hasher request, once more in a fresh child if the first one died under it. */
async function withRetry<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (!(e instanceof HasherUnavailableError)) throw e;
    return call();
  }
}

/**
 * The PHC-encoded argon2id hash of the NFKC form of `password`, with a fresh random salt.
 * `key` (the client's address) is the queue it waits in when hashes are busy.
 */
export async function hashPassword(password: string, key = ""): Promise<string> {
  return hashGate.run(() => withRetry(() => hasher.hash(normalizePassword(password))), key);
}

/**
 * True when `password` matches `encoded`. Never answers a malformed hash with an error: it answers
 * false, and the caller can tell that case apart with `parsePasswordHash` to log it. A hasher that
 * cannot run throws HasherUnavailableError (a server error, never "wrong password").
 */
export async function verifyPassword(encoded: string, password: string, key = ""): Promise<boolean> {
  if (parsePasswordHash(encoded) === undefined) return false;
  return hashGate.run(
    () =>
      withRetry(async () => {
        try {
          return await hasher.verify(encoded, normalizePassword(password));
        } catch (e) {
          if (e instanceof HasherUnavailableError) throw e;
          // Well-formed on the surface but refused by argon2 (salt too short, memory cost too small, ...).
          return false;
        }
      }),
    key,
  );
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
export async function dummyVerify(password = "", key = ""): Promise<false> {
  await verifyPassword(await dummyPasswordHash(), password, key);
  return false;
}
