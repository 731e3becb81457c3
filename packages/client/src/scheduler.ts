/** Runs a client's background tasks after a delay, outside the caller's stack, and cancels them all when the client closes. */
import type { Timers } from "./platform.js";

/**
 * Background work (a resync, a removal Commit, the rejoin pass) must not run inside the receive
 * path that asked for it, which would then wait for itself; and none may start once the client
 * is closed. A task's failure is reported, never thrown at the timer.
 */
export class Scheduler {
  readonly #timers: Timers;
  readonly #report: (error: unknown) => void;
  readonly #pending = new Set<unknown>();
  #closed = false;

  constructor(timers: Timers, report: (error: unknown) => void) {
    this.#timers = timers;
    this.#report = report;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `task` after `ms` unless closed first. */
  later(ms: number, task: () => Promise<void>): void {
    if (this.#closed) return;
    const timer = this.#timers.setTimeout(() => {
      this.#pending.delete(timer);
      if (this.#closed) return;
      task().catch((e: unknown) => this.#report(e));
    }, ms);
    this.#pending.add(timer);
  }

  /** Lets tasks be scheduled again (the client connects again after close()). */
  open(): void {
    this.#closed = false;
  }

  /** Cancels every task not started yet; later() does nothing until open(). */
  close(): void {
    this.#closed = true;
    for (const t of this.#pending) this.#timers.clearTimeout(t);
    this.#pending.clear();
  }
}
