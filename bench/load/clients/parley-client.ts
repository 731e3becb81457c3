import { randomBytes } from "node:crypto";
import { PROTOCOL_VERSION, RECEIPT_IDS_MAX } from "@parley/protocol";
import WebSocket, { type RawData } from "ws";
import { headerInFrame, startsWith } from "../payload.js";
import {
  type BenchClient,
  type ClientIdentity,
  type ClientSink,
  type ClientTarget,
  withTimeout,
} from "./bench-client.js";

/**
 * A Parley client reduced to what the benchmark does: `auth`, `room.create`, `room.join`,
 * `message.send`. Hot frames (`message`, `ack`) are recognised by their first bytes and never
 * parsed (the server serialises `type` first); only the rare control frames go through
 * JSON.parse.
 */

const MESSAGE = Buffer.from('{"type":"message"');
const ACK = Buffer.from('{"type":"ack"');
const NOISE = [
  Buffer.from('{"type":"presence"'),
  Buffer.from('{"type":"room.event"'),
  Buffer.from('{"type":"receipt.event"'),
];
const FROM = Buffer.from('"from":{"id":"');
const ROOM = Buffer.from('"room":"');
/** The SDK batches receipts about once a second (RCPT-1); so does the benchmark. */
const RECEIPT_FLUSH_MS = 1000;

interface Waiter {
  resolve: (frame: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

export class ParleyClient implements BenchClient {
  #ws: WebSocket | null = null;
  #closing = false;
  #nextRid = 0;
  readonly #waiting = new Map<string, Waiter>();
  #ready: Waiter | null = null;
  /** With receipts on: ids received since the last flush, by room and sender. */
  readonly #unacked = new Map<string, string[]>();
  #flushTimer: NodeJS.Timeout | undefined;
  readonly #deviceId = `bench${randomBytes(6).toString("hex")}`;

  constructor(
    private readonly target: ClientTarget,
    private readonly identity: ClientIdentity,
    private readonly sink: ClientSink,
  ) {}

  /** May be called again after a failure: each attempt has its own socket, the old one is dropped. */
  connect(): Promise<void> {
    this.#ws?.terminate();
    this.#closing = false;
    const ws = new WebSocket(this.target.url, {
      perMessageDeflate: false,
      localAddress: this.identity.localAddress,
      handshakeTimeout: 15_000,
      ...(this.target.ca !== undefined ? { ca: this.target.ca } : {}),
    });
    this.#ws = ws;
    const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    // Events of a socket that an earlier, failed attempt left behind are ignored.
    ws.on("open", () => {
      ws.send(
        JSON.stringify({
          type: "auth",
          token: this.identity.token,
          protocolVersion: PROTOCOL_VERSION,
          // Receipts need a device (MLS-1); it need not be registered for them.
          ...(this.target.receipts ? { deviceId: this.#deviceId } : {}),
        }),
      );
    });
    ws.on("message", (data) => {
      if (this.#ws === ws) this.#onFrame(data);
    });
    ws.on("error", (e) => {
      if (this.#ws === ws) this.#fail(e);
    });
    ws.on("close", (code, reason) => {
      if (this.#ws === ws) this.#fail(new Error(`closed ${code} ${reason.toString()}`));
    });
    return withTimeout(ready, "parley auth").then(
      () => undefined,
      (e: unknown) => {
        this.#ready = null;
        this.#closing = true;
        ws.terminate();
        throw e;
      },
    );
  }

  async createRoom(name: string): Promise<string> {
    const frame = await this.#request({ type: "room.create", name, isPublic: true });
    const id = (frame.room as { id?: unknown } | undefined)?.id;
    if (typeof id !== "string") throw new Error("room.create: no room id in the answer");
    return id;
  }

  async joinRoom(key: string): Promise<void> {
    await this.#request({ type: "room.join", roomId: key });
  }

  send(roomKey: string, payload: string): void {
    // Room ids and base64 need no JSON escaping.
    this.#ws?.send(`{"type":"message.send","to":{"room":"${roomKey}"},"payload":"${payload}"}`);
  }

  close(): void {
    this.#closing = true;
    clearInterval(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#unacked.clear();
    this.#ws?.terminate();
  }

  /**
   * Notes a delivery to acknowledge: its room and sender found by byte search, as the hot path
   * parses nothing, and an id made of the payload header (unique per message), as a receiving
   * SDK would take the id from inside the ciphertext.
   */
  #noteReceipt(frame: Buffer, header: string): void {
    const room = stringAfter(frame, ROOM);
    const from = stringAfter(frame, FROM);
    if (room === null || from === null) return;
    const key = `${room} ${from}`;
    const id = Buffer.from(header, "latin1").toString("hex").padEnd(32, "0").slice(0, 32);
    const list = this.#unacked.get(key);
    if (list === undefined) this.#unacked.set(key, [id]);
    else list.push(id);
    this.#flushTimer ??= setInterval(() => this.#flushReceipts(), RECEIPT_FLUSH_MS);
    this.#flushTimer.unref();
  }

  /** One `receipt` frame per room and sender (and per RECEIPT_IDS_MAX ids), like the SDK's batches. */
  #flushReceipts(): void {
    const ws = this.#ws;
    if (ws === null || this.#closing) return;
    for (const [key, ids] of this.#unacked) {
      const [roomId, to] = key.split(" ") as [string, string];
      for (let i = 0; i < ids.length; i += RECEIPT_IDS_MAX) {
        const chunk = ids.slice(i, i + RECEIPT_IDS_MAX);
        ws.send(JSON.stringify({ type: "receipt", roomId, to, ids: chunk, state: "delivered" }));
      }
    }
    this.#unacked.clear();
  }

  #request(frame: Record<string, unknown>): Promise<Record<string, unknown>> {
    const rid = String(++this.#nextRid);
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#waiting.set(rid, { resolve, reject });
    });
    this.#ws?.send(JSON.stringify({ ...frame, rid }));
    return withTimeout(answer, String(frame.type)).finally(() => this.#waiting.delete(rid));
  }

  #onFrame(data: RawData): void {
    if (!Buffer.isBuffer(data)) return;
    if (startsWith(data, MESSAGE)) {
      const header = headerInFrame(data);
      if (header !== null) {
        this.sink.delivery(header);
        if (this.target.receipts) this.#noteReceipt(data, header);
      }
      return;
    }
    if (startsWith(data, ACK)) {
      this.sink.ack();
      return;
    }
    for (const prefix of NOISE) if (startsWith(data, prefix)) return;
    const frame = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
    const rid = typeof frame.rid === "string" ? frame.rid : undefined;
    switch (frame.type) {
      case "ready":
        this.#ready?.resolve(frame);
        this.#ready = null;
        return;
      case "room":
        if (rid !== undefined) this.#waiting.get(rid)?.resolve(frame);
        return;
      case "error": {
        const code = String(frame.code);
        const waiter = rid !== undefined ? this.#waiting.get(rid) : undefined;
        if (waiter) waiter.reject(new Error(`parley error ${code}`));
        else if (this.#ready) this.#ready.reject(new Error(`parley error ${code}`));
        else this.sink.error(code);
        return;
      }
      default:
        return;
    }
  }

  #fail(e: Error): void {
    if (this.#ready) {
      this.#closing = true;
      this.#ready.reject(e);
      this.#ready = null;
      this.#ws?.terminate();
      return;
    }
    for (const w of this.#waiting.values()) w.reject(e);
    if (!this.#closing) {
      this.#closing = true;
      this.sink.lost(e.message);
    }
  }
}

/** The JSON string value that follows `mark` in `frame` (ids and room ids need no escaping). */
function stringAfter(frame: Buffer, mark: Buffer): string | null {
  const i = frame.indexOf(mark);
  if (i < 0) return null;
  const start = i + mark.length;
  const end = frame.indexOf(0x22, start); // the closing quote
  return end < 0 ? null : frame.toString("latin1", start, end);
}
