/** A stand-in for the client's Scheduler in unit tests: background tasks wait until the test runs them. */
import type { Scheduler } from "../scheduler.js";

export interface ScheduledTask {
  /** The delay the task was scheduled with. */
  readonly ms: number;
  readonly task: () => Promise<void>;
}

/**
 * Records what the code under test schedules, with its delay, and hands each task to the test
 * to run to its end (awaited, its failure thrown): a delay can be read, and what the task did
 * checked, without waiting for any timer.
 */
export class FakeScheduler implements Pick<Scheduler, "later" | "closed"> {
  closed = false;
  /** Tasks scheduled and not taken yet, in the order they were scheduled. */
  readonly waiting: ScheduledTask[] = [];

  later(ms: number, task: () => Promise<void>): void {
    if (!this.closed) this.waiting.push({ ms, task });
  }

  /** The only waiting task, taken off the list; throws when there is not exactly one. */
  take(): ScheduledTask {
    const [only, ...more] = this.waiting.splice(0);
    if (only === undefined || more.length > 0)
      throw new Error(`expected one scheduled task, found ${more.length + (only === undefined ? 0 : 1)}`);
    return only;
  }
}
