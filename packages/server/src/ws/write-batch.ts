// Gathers the frames written to each socket during one turn of the event loop into one write.
import type { Writable } from "node:stream";

/**
 * The relay writes a room's message to every member's socket, and under load one socket gets
 * several frames within one turn of the event loop (one per message of its rooms, plus acks).
 * The first write of a turn corks the socket and one `setImmediate` at the end of the turn
 * uncorks every socket corked, so those frames leave in one `writev` instead of one system call
 * each. Order per socket is the order of the writes; nothing is delayed past the turn. A socket
 * destroyed meanwhile drops what it held, as it would have dropped it unsent.
 */
export class WriteBatch {
  #corked: Writable[] = [];
  #scheduled = false;

  /**
   * @param maxHeldBytes a socket holding this much leaves at once instead of at the end of the
   *   turn (default 65536): batching is for many small frames, and a large burst should meet
   *   the kernel's buffer, and only then the send-buffer limit, as it would unbatched.
   */
  constructor(private readonly maxHeldBytes = 65_536) {}

  /** Writes `chunk` to `socket`, held until the end of this turn. */
  write(socket: Writable, chunk: Buffer): void {
    if (socket.writableCorked === 0) {
      socket.cork();
      this.#corked.push(socket);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    }
    socket.write(chunk);
    if (socket.writableLength >= this.maxHeldBytes) socket.uncork();
  }

  /** Sockets corked now and not yet written out. */
  get pending(): number {
    return this.#corked.length;
  }

  /** Writes out every socket corked so far. */
  flush(): void {
    const corked = this.#corked;
    this.#corked = [];
    for (const socket of corked) {
      // writableCorked is 0 when the socket already ended or was uncorked by its own end().
      if (socket.writableCorked > 0) socket.uncork();
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}
