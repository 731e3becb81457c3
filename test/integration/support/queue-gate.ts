import type { OfflineQueueStore } from "../../../packages/server/src/storage/offline-queue-store.js";

/** What queue-gate hands the test: whether a write is waiting, whose queues were read. */
export interface QueueGate {
  /** True once a queue write is waiting at the gate. */
  readonly writing: boolean;
  /** The device ids whose queue was read since the gate was set (clear it with `length = 0`). */
  readonly reads: string[];
  /** Lets the waiting write (and any later one) through. */
  release(): void;
  /** Puts the stores' own methods back. */
  restore(): void;
}

/**
 * Makes the offline-queue writes of `writer` wait until `release()` and records the device
 * whose queue `reader` reads, so a test can make a device read its (empty) queue while a
 * message for it is still being written: the race a connecting device meets. With several
 * servers, `writer` and `reader` are different servers' stores.
 */
export function gateQueue(writer: OfflineQueueStore, reader: OfflineQueueStore = writer): QueueGate {
  const enqueue = writer.enqueue.bind(writer);
  const pending = reader.pending.bind(reader);
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let writing = false;
  const reads: string[] = [];
  writer.enqueue = async (input) => {
    writing = true;
    await gate;
    return enqueue(input);
  };
  reader.pending = (ref, afterSeq, limit, now) => {
    reads.push(ref.deviceId);
    return pending(ref, afterSeq, limit, now);
  };
  return {
    get writing() {
      return writing;
    },
    reads,
    release: () => open(),
    restore() {
      open();
      writer.enqueue = enqueue;
      reader.pending = pending;
    },
  };
}
