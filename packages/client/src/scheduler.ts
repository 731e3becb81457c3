/** Runs a client's background tasks after a delay, outside the caller's stack, and cancels them all when the client closes. */
import { isConnectionGone } from "./errors.js";
import type { Timers } from "./platform.js";

/** How many times a task the connection cut short runs again, once per new connection. */
const RESUMES = 3;
/** Tasks waiting for the connection, at most; beyond that the oldest are given up (and reported). */
const PARKED_MAX = 256;

interface Parked {
  readonly task: () => Promise<void>;
  readonly resumes: number;
  readonly error: unknown;
}

/**
 * Background work (a resync, a removal Commit, the rejoin pass, an answer to another device's
 * sync notice) must not run inside the receive path that asked for it, which would then wait for
 * itself; and none may start once the client is closed. A task's failure is reported, never
 * thrown at the timer. A task the connection cut short is not a failure: the status stream
 * already says the client is reconnecting, so it waits and runs again on the next connection
 * (`resume()`), a few times at most.
 */
export class Scheduler {
  readonly #timers: Timers;
  readonly #report: (error: unknown) => void;
  readonly #pending = new Set<unknown>();
  #parked: Parked[] = [];
  #closed = false;

  constructor(timers: Timers, report: (error: unknown) => void) {
    this.#timers = timers;
    this.#report = report;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Tasks waiting for the next connection. */
  get parked(): number {
    return this.#parked.length;
  }

  /** Runs `task` after `ms` unless closed first. */
  later(ms: number, task: () => Promise<void>, resumes = RESUMES): void {
    if (this.#closed) return;
    const timer = this.#timers.setTimeout(() => {
      this.#pending.delete(timer);
      if (this.#closed) return;
      task().catch((e: unknown) => this.#failed(task, e, resumes));
    }, ms);
    this.#pending.add(timer);
  }

  /** A new connection is ready: the tasks the last one cut short run again. */
  resume(): void {
    const parked = this.#parked;
    this.#parked = [];
    for (const p of parked) this.later(0, p.task, p.resumes - 1);
  }

  /** Lets tasks be scheduled again (the client connects again after close()). */
  open(): void {
    this.#closed = false;
  }

  /** Cancels every task not started yet and every task waiting for a connection; later() does nothing until open(). */
  close(): void {
    this.#closed = true;
    for (const t of this.#pending) this.#timers.clearTimeout(t);
    this.#pending.clear();
    this.#parked = [];
  }

  #failed(task: () => Promise<void>, error: unknown, resumes: number): void {
    if (this.#closed && isConnectionGone(error)) return;
    if (!isConnectionGone(error) || resumes <= 0) {
      this.#report(error);
      return;
    }
    this.#parked.push({ task, resumes, error });
    if (this.#parked.length > PARKED_MAX) this.#report(this.#parked.shift()?.error);
  }
}
