// One WebSocket and what the gateway knows about it: its user, its device stream, its frame chain.
import type { Writable } from "node:stream";
import type { ServerFrame } from "@parley/protocol";
import { ERRORS, type ErrorCode } from "@parley/protocol";
import WebSocket from "ws";
import type { AuthContext } from "../domain/accounts.js";
import type { DeviceStream, StreamOutput } from "../domain/device-stream.js";
import type { ParleyError } from "../domain/errors.js";
import { type WireFrame, wireFrame } from "./wire-frame.js";
import type { WriteBatch } from "./write-batch.js";

const CLOSE_GRACE_MS = 1000;

export interface ConnectionOptions {
  /** A random id, unique on this server. */
  id: string;
  ws: WebSocket;
  /** The socket under `ws` (the upgrade's): frames are written to it directly, framed once. */
  socket: Writable;
  /** The client address (honours trusted proxies). */
  ip: string;
  /** LIMIT-4: unsent bytes beyond which the connection is closed as a slow consumer. */
  sendBufferBytes: number;
  /** The server's write batch: a socket's frames of one event-loop turn leave in one write. */
  batch: WriteBatch;
  /** A frame was written (for /metrics). */
  onSent: () => void;
}

/** One WebSocket and what the gateway knows about it. */
export class Connection {
  auth: AuthContext | null = null;
  /** The device this connection speaks for (MLS-1), or null for a device-less client. */
  deviceId: string | null = null;
  /** The device's acked stream (handshakes, offline queue); null without a device. */
  stream: DeviceStream | null = null;
  invalidFrames = 0;
  missedPongs = 0;
  closing = false;
  authTimer: NodeJS.Timeout | undefined;
  /**
   * WS-4: frames are handled one after another, so a join is done before the next send is
   * checked. The tail of the work still running for this connection, or null when there is none.
   */
  #frameChain: Promise<void> | null = null;
  /** Live deliveries held while the device's backlog is read (MLS-8); null when not holding. */
  #held: WireFrame[] | null = null;
  #heldBytes = 0;
  readonly id: string;
  readonly ws: WebSocket;
  readonly ip: string;
  readonly #o: ConnectionOptions;

  constructor(o: ConnectionOptions) {
    this.id = o.id;
    this.ws = o.ws;
    this.ip = o.ip;
    this.#o = o;
  }

  /**
   * Runs `task(item)` after everything this connection was handed before it (WS-4); a failure
   * goes to `onError(e, item)`, which is part of the task. With nothing pending the task runs at
   * once, and a task that finishes without returning a promise leaves no chain behind: the
   * relay's hot path allocates no promise and no closure per frame.
   */
  serially<T>(
    item: T,
    task: (item: T) => Promise<void> | undefined | void,
    onError: (e: unknown, item: T) => Promise<void> | undefined | void,
  ): void {
    const chain = this.#frameChain;
    if (chain !== null) {
      // The tail never rejects (#follow), so the task runs whatever became of the one before.
      this.#follow(
        chain.then(() => task(item)),
        item,
        onError,
      );
      return;
    }
    let pending: Promise<void> | undefined | void;
    try {
      pending = task(item);
    } catch (e) {
      pending = onError(e, item);
      if (pending) this.#follow(pending, item, undefined);
      return;
    }
    if (pending) this.#follow(pending, item, onError);
  }

  /** Makes `pending` (its failure handled by `onError`) the tail that later frames wait for. */
  #follow<T>(
    pending: Promise<void>,
    item: T,
    onError: ((e: unknown, item: T) => Promise<void> | undefined | void) | undefined,
  ): void {
    const handled = onError ? pending.catch((e: unknown) => onError(e, item)) : pending;
    const tail: Promise<void> = handled.then(
      () => this.#settled(tail),
      () => this.#settled(tail),
    );
    this.#frameChain = tail;
  }

  #settled(tail: Promise<void>): void {
    if (this.#frameChain === tail) this.#frameChain = null;
  }

  /** This connection as the output of its device stream. */
  streamOutput(): StreamOutput {
    const self = this;
    return {
      send: (frame) => this.sendRaw(frame),
      get closed() {
        return self.closing;
      },
    };
  }

  /** Sends an already-serialised frame; closes the connection instead of buffering without bound. */
  sendRaw(frame: Buffer | string): void {
    this.#write(wireFrame(frame));
  }

  send(frame: ServerFrame): void {
    this.#write(wireFrame(JSON.stringify(frame)));
  }

  /**
   * LIMIT-4: writes a framed message, through the turn's write batch, unless that would bring the
   * unsent data above the send buffer: then the connection is closed instead.
   */
  #write(wire: WireFrame): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount + wire.length > this.#o.sendBufferBytes) {
      this.close("slow_consumer");
      return;
    }
    // ws writes to this socket only synchronously (no permessage-deflate, no Blob), so frames
    // written here and by ws (pings, close) keep the order they were written in.
    this.#o.batch.write(this.#o.socket, wire);
    this.#o.onSent();
  }

  /**
   * MLS-8: from now until release(), live deliveries wait, so nothing newer overtakes the
   * backlog the device stream is reading. The stream itself writes with sendRaw.
   */
  holdDeliveries(): void {
    this.#held ??= [];
  }

  /** Sends the held deliveries in arrival order and delivers live again. */
  releaseDeliveries(): void {
    const held = this.#held;
    this.#held = null;
    this.#heldBytes = 0;
    for (const frame of held ?? []) this.#write(frame);
  }

  /**
   * A live delivery (a room's message, a device's handshake, an event), framed once for all its
   * recipients: sent now, or held while the backlog is read. Held frames count against the send
   * buffer like buffered ones.
   */
  deliver(frame: WireFrame): void {
    if (this.#held === null) {
      this.#write(frame);
      return;
    }
    if (this.closing) return;
    if (this.ws.bufferedAmount + this.#heldBytes + frame.length > this.#o.sendBufferBytes) {
      this.close("slow_consumer");
      return;
    }
    this.#held.push(frame);
    this.#heldBytes += frame.length;
  }

  sendError(error: ParleyError, rid?: string): void {
    this.send({ type: "error", ...(rid !== undefined ? { rid } : {}), ...error.toBody() });
  }

  /** Closes with the registry's close code for this error; the reason is the stable code. */
  close(code: ErrorCode): void {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.authTimer);
    const closeCode = ERRORS[code].wsClose ?? 1008;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(closeCode, code);
    }
    // A peer that does not read (a slow consumer, a dead phone) never completes the closing
    // handshake; do not hold its socket and buffers for ws's 30 s default.
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}
