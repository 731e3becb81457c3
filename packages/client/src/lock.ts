/**
 * Runs tasks one at a time per key, in call order. Group states are values that every
 * operation replaces, so two operations on one group must never interleave.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Resolves once everything queued under `key` so far has finished. */
  idle(key: string): Promise<void> {
    return this.run(key, async () => {});
  }
}
