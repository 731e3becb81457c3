import type { ServerFrame } from "@parley/protocol";
import { ERRORS, type ErrorCode } from "@parley/protocol";
import WebSocket from "ws";
import type { AuthContext } from "../domain/accounts.js";
import { encodeFrame } from "../domain/encode.js";
import type { ParleyError } from "../domain/errors.js";

const CLOSE_GRACE_MS = 1000;

/** One WebSocket and what the gateway knows about it. */
export class Connection {
  auth: AuthContext | null = null;
  /** The device this connection speaks for (MLS-1), or null for a device-less client. */
  deviceId: string | null = null;
  invalidFrames = 0;
  missedPongs = 0;
  closing = false;
  /**
   * RELAY-6: the offline queue's delivery started on this connection; how far it read; the seq
   * of the last queued frame it sent, whose ack asks for the next page.
   */
  queueStarted = false;
  queueReadUpTo = 0;
  queueAwaitedAck = 0;
  queueAcked = 0;
  /** Frames are handled one after another, so a join is done before the next send is checked. */
  queue: Promise<void> = Promise.resolve();
  authTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    readonly ip: string,
    private readonly sendBufferBytes: number,
    private readonly onSent: () => void,
  ) {}

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
