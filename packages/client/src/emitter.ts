/**
 * A minimal typed event emitter: the SDK runs in browsers too, so it cannot use Node's
 * EventEmitter, and EventTarget would lose the payload types. `Events` maps each event name to
 * its payload.
 */
export type Listener<T> = (payload: T) => void;

export interface EmitterOptions {
  /**
   * Called with what a listener threw; the other listeners still run. Default: the first error
   * is rethrown from emit() after every listener has run.
   */
  onListenerError?: (error: unknown, event: string) => void;
}

export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #onListenerError: ((error: unknown, event: string) => void) | undefined;

  constructor(options: EmitterOptions = {}) {
    this.#onListenerError = options.onListenerError;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Adds a listener that is removed after its first call. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    set.delete(listener as Listener<never>);
    if (set.size === 0) this.#listeners.delete(event);
  }

  /** The next payload of `event`, as a promise. */
  next<K extends keyof Events>(event: K): Promise<Events[K]> {
    return new Promise((resolve) => this.once(event, resolve));
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Calls every listener of `event` in the order they were added; returns whether there was one. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): boolean {
    const set = this.#listeners.get(event);
    if (set === undefined) return false;
    let first: { error: unknown } | undefined;
    // A copy: listeners may add or remove listeners while we iterate.
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        if (this.#onListenerError !== undefined) this.#onListenerError(error, String(event));
        else first ??= { error };
      }
    }
    if (first !== undefined) throw first.error;
    return true;
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }
}
