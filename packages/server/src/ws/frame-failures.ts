// Turns a frame handler's failure into the error frame the client gets (WS-3), logging a full disk once a minute.
import type { Logger } from "pino";
import { ParleyError } from "../domain/errors.js";
import { LogThrottle } from "../ops/log-throttle.js";
import { isStorageFull } from "../storage/storage-full.js";

/**
 * What a frame handler's failure becomes for the client (WS-3): a ParleyError as it is, a full
 * disk as `storage_full` (logged at most once a minute, with a count), anything else as
 * `internal_error`, or `service_unavailable` when the database does not answer. Never the
 * error's own text: it may hold what a client sent.
 */
export class FrameFailures {
  /** Error lines a client can cause, at most one a minute per kind. */
  readonly #quiet = new LogThrottle();

  constructor(
    private readonly log: Logger,
    private readonly storageUp: () => Promise<boolean>,
  ) {}

  async describe(e: unknown, frameType: string): Promise<ParleyError> {
    if (e instanceof ParleyError) return e;
    if (isStorageFull(e)) {
      const folded = this.#quiet.take("storage_full");
      if (folded > 0)
        this.log.error(
          { event: "storage_full", count: folded, frameType },
          "a write failed: the storage is full",
        );
      return new ParleyError("storage_full");
    }
    this.log.error({ err: e, event: "frame_error", frameType }, "frame handling failed");
    return new ParleyError((await this.storageUp()) ? "internal_error" : "service_unavailable");
  }
}
