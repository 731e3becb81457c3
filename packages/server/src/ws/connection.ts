// One WebSocket and what the gateway knows about it: its user, its device stream, its frame chain.
import type { ServerFrame } from "@parley/protocol";
import { ERRORS, type ErrorCode } from "@parley/protocol";
import WebSocket from "ws";
import type { AuthContext } from "../domain/accounts.js";
import type { DeviceStream, StreamOutput } from "../domain/device-stream.js";
import { encodeFrame } from "../domain/encode.js";
import type { ParleyError } from "../domain/errors.js";

const CLOSE_GRACE_MS = 1000;

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
  /** WS-4: frames are handled one after another, so a join is done before the next send is checked. */
  #frameChain: Promise<void> = Promise.resolve();
  /** Live deliveries held while the device's backlog is read (MLS-8); null when not holding. */
  #held: Buffer[] | null = null;
  #heldBytes = 0;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    readonly ip: string,
    private readonly sendBufferBytes: number,
    private readonly onSent: () => void,
  ) {}

  /** Runs `task` after everything this connection was handed before it (WS-4). */
  serially(task: () => Promise<void>, onError: (e: unknown) => Promise<void> | void): void {
    this.#frameChain = this.#frameChain.then(task).catch(onError);
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
  sendRaw(frame: Buffer): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount + frame.length > this.sendBufferBytes) {
      this.close("slow_consumer");
      return;
    }
    this.ws.send(frame, { binary: false });
    this.onSent();
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
    for (const frame of held ?? []) this.sendRaw(frame);
  }

  /**
   * A live delivery (a room's message, a device's handshake, an event): sent now, or held while
   * the backlog is read. Held frames count against the send buffer like buffered ones.
   */
  deliver(frame: Buffer): void {
    if (this.#held === null) {
      this.sendRaw(frame);
      return;
    }
    if (this.closing) return;
    if (this.ws.bufferedAmount + this.#heldBytes + frame.length > this.sendBufferBytes) {
      this.close("slow_consumer");
      return;
    }
    this.#held.push(frame);
    this.#heldBytes += frame.length;
  }

  send(frame: ServerFrame): void {
    this.sendRaw(encodeFrame(frame));
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
