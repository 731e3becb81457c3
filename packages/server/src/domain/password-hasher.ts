import { type ChildProcess, fork, type SpawnOptions, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { availableParallelism, setPriority } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { normalizePassword } from "@parley/protocol/password-policy";
import { hash, verify } from "argon2";
import { ARGON2_PARAMETERS } from "./argon2-parameters.js";

export { ARGON2_PARAMETERS } from "./argon2-parameters.js";

/**
 * Password hashing with argon2id (RFC 9106) through the `argon2` package, in a child process of
 * its own that runs only when the server leaves the CPU idle (`HashProcess`): Linux's SCHED_IDLE
 * policy, set by util-linux's `chrt --idle 0`, or nice 19 where that cannot be had. On a
 * one-core deployment the event loop, which relays everyone's messages, then takes the core back
 * the moment it has work; in the server's own process argon2 ran on libuv's threads at the event
 * loop's priority. The benchmark's login storm (50 logins during chat on a server pinned to one
 * core) raised chat p99 13-fold that way, still 7-fold at nice 10: a nice task that is running
 * keeps the core for the rest of its slice when the event loop wakes, a SCHED_IDLE one does not.
 *
 * The child starts with the server (`startServer` makes the dummy hash), not at the first login:
 * starting a process blocks the event loop for tens of milliseconds, and the child's own start-up
 * then competes for the core just as the logins arrive.
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

/** The niceness of the hasher process where SCHED_IDLE cannot be had: the lowest priority. */
export const HASHER_NICE = 19;

/**
 * How the hasher runs: `idle` in a child under SCHED_IDLE, `nice` in a child at `HASHER_NICE`,
 * `normal` in a child at this process's own priority (tests, `hasherOptions`), `in-process` on
 * this process's threads (no child process could be started).
 */
export type HasherPriority = "idle" | "nice" | "normal" | "in-process";

export interface HashProcessOptions {
  /**
   * util-linux's `chrt`, which starts the child under SCHED_IDLE; null to not try it. Default
   * `"chrt"` (looked up on PATH) on Linux, null elsewhere.
   */
  readonly chrt?: string | null;
  /**
   * The niceness of a child started without `chrt`; null to leave it at this process's own.
   * Default `HASHER_NICE`.
   */
  readonly nice?: number | null;
  /** How long a starting child may take to say it is ready before it counts as failed. Default 60000. */
  readonly startTimeoutMs?: number;
}

/** The hasher process died or could not start; the request may be tried again. */
export class HasherUnavailableError extends Error {
  constructor() {
    super("the password hasher is not available");
    this.name = "HasherUnavailableError";
  }
}

type Answer = { readonly id: number; readonly ok: boolean; readonly value?: unknown };

const isReady = (m: unknown) =>
  typeof m === "object" && m !== null && (m as { ready?: unknown }).ready === true;

/**
 * One long-lived child process that hashes and verifies (hasher-child.ts), started by `start`
 * or the first request, and again after it dies: under SCHED_IDLE through `chrt`, or, when
 * `chrt` is missing or refused, by a plain fork at nice 19. It never keeps the server's process
 * alive: it holds the event loop only while it starts or an answer is awaited, and it exits when
 * the server goes away. Where no child process can be started at all, hashing runs in this
 * process as before.
 */
export class HashProcess {
  readonly #options: Required<HashProcessOptions>;
  #child: ChildProcess | undefined;
  #starting: Promise<ChildProcess | undefined> | undefined;
  readonly #pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  #next = 0;
  #priority: HasherPriority | undefined;
  /** Children started so far (a test watches a restart). */
  started = 0;

  constructor(options: HashProcessOptions = {}) {
    this.#options = {
      chrt: process.platform === "linux" ? "chrt" : null,
      nice: HASHER_NICE,
      startTimeoutMs: 60_000,
      ...options,
    };
  }

  /** The child's pid while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How the last child started (undefined before the first start). */
  get priority(): HasherPriority | undefined {
    return this.#priority;
  }

  /** Starts the child now rather than at the first request; resolves once it is ready. */
  async start(): Promise<HasherPriority> {
    await this.#ensure();
    return this.#priority ?? "in-process";
  }

  async hash(password: string): Promise<string> {
    const answer = await this.#ask({ op: "hash", password });
    if (!answer.ok || typeof answer.value !== "string") throw new Error("argon2 refused to hash");
    return answer.value;
  }

  /** Throws when argon2 refuses the stored hash (the caller answers "no"), or the child died. */
  async verify(encoded: string, password: string): Promise<boolean> {
    const answer = await this.#ask({ op: "verify", password, encoded });
    if (!answer.ok) throw new Error("argon2 refused the stored hash");
    return answer.value === true;
  }

  /** Stops the child (tests); the next request starts another. */
  stop(): void {
    this.#child?.kill();
  }

  async #ask(request: { op: "hash" | "verify"; password: string; encoded?: string }): Promise<Answer> {
    const child = await this.#ensure();
    if (child === undefined) {
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

  #ensure(): Promise<ChildProcess | undefined> {
    if (this.#priority === "in-process") return Promise.resolve(undefined);
    if (this.#child !== undefined) return Promise.resolve(this.#child);
    if (this.#starting === undefined) {
      const starting = this.#launch();
      this.#starting = starting;
      const clear = () => {
        if (this.#starting === starting) this.#starting = undefined;
      };
      starting.then(clear, clear);
    }
    return this.#starting;
  }

  async #launch(): Promise<ChildProcess | undefined> {
    // The child is this module's sibling, as source (.ts, run through the same loader) or built (.js).
    const here = fileURLToPath(import.meta.url);
    const path = fileURLToPath(new URL(`./hasher-child${extname(here)}`, import.meta.url));
    const flags = loaderFlags(process.execArgv);
    const stdio: SpawnOptions["stdio"] = ["ignore", "ignore", "inherit", "ipc"];
    const { chrt, nice } = this.#options;
    if (chrt !== null) {
      // chrt sets the policy on itself and then execs node, so the pid and the channel stay.
      const child = await this.#whenReady(() =>
        spawn(chrt, ["--idle", "0", process.execPath, ...flags, path], { stdio, serialization: "json" }),
      );
      if (child) return this.#adopt(child, "idle");
    }
    const child = await this.#whenReady(() => {
      const forked = fork(path, [], { execArgv: flags, stdio, serialization: "json" });
      if (forked.pid !== undefined && nice !== null) {
        try {
          setPriority(forked.pid, nice);
        } catch {
          // Not allowed here (a container without the capability): it still runs off the event loop.
        }
      }
      return forked;
    });
    if (child) return this.#adopt(child, nice === null ? "normal" : "nice");
    this.#priority = "in-process";
    return undefined;
  }

  /** Starts a child and resolves with it once it says it is ready; undefined if it never does. */
  #whenReady(make: () => ChildProcess): Promise<ChildProcess | undefined> {
    let child: ChildProcess;
    try {
      child = make();
    } catch {
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const done = (ready: boolean) => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onFailure);
        child.off("error", onFailure);
        if (!ready) {
          child.on("error", () => undefined);
          child.kill();
        }
        resolve(ready ? child : undefined);
      };
      const onMessage = (m: unknown) => {
        if (isReady(m)) done(true);
      };
      const onFailure = () => done(false);
      const timer = setTimeout(onFailure, this.#options.startTimeoutMs);
      child.on("message", onMessage);
      child.on("exit", onFailure);
      child.on("error", onFailure);
    });
  }

  #adopt(child: ChildProcess, priority: HasherPriority): ChildProcess {
    this.#child = child;
    this.#priority = priority;
    this.started++;
    if (this.#pending.size === 0) {
      child.unref();
      child.channel?.unref();
    }
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

/**
 * How the server's hasher process runs in an environment: as `HashProcess` defaults, but at the
 * process's own priority under NODE_ENV=test. The test runner keeps both cores busy with two test
 * files at once, so a SCHED_IDLE or nice 19 hasher waits for a core that is never idle, and every
 * sign-in in a test with it (the TOTP unit tests took 23 s instead of 8 s on a loaded machine).
 * The priority decides when a hash runs, never what it computes; the tests of `HashProcess` start
 * their own with the defaults.
 */
export function hasherOptions(env: Readonly<Record<string, string | undefined>>): HashProcessOptions {
  return env.NODE_ENV === "test" ? { chrt: null, nice: null } : {};
}

/** The server's hasher process. */
export const hasher = new HashProcess(hasherOptions(process.env));

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
