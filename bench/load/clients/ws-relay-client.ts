import WebSocket, { type RawData } from "ws";
import { headerInFrame, startsWith } from "../payload.js";
import {
  type BenchClient,
  type ClientIdentity,
  type ClientSink,
  type ClientTarget,
  withTimeout,
} from "./bench-client.js";

/** A client of bench/peers/ws-relay.ts (see its comment for the four frames it knows). */

const ACK = Buffer.from('{"type":"ack"');
const JOINED = Buffer.from('{"type":"joined"');

export class WsRelayClient implements BenchClient {
  #ws: WebSocket | null = null;
  #closing = false;
  #opened = false;
  readonly #joins = new Map<string, () => void>();

  constructor(
    private readonly target: ClientTarget,
    private readonly identity: ClientIdentity,
    private readonly sink: ClientSink,
  ) {}

  /** May be called again after a failure: each attempt has its own socket, the old one is dropped. */
  connect(): Promise<void> {
    this.#ws?.terminate();
    this.#closing = false;
    this.#opened = false;
    const ws = new WebSocket(this.target.url, {
      perMessageDeflate: false,
      localAddress: this.identity.localAddress,
      handshakeTimeout: 15_000,
    });
    this.#ws = ws;
    const open = new Promise<void>((resolve, reject) => {
      ws.once("open", () => {
        this.#opened = true;
        resolve();
      });
      ws.once("error", reject);
    });
    ws.on("message", (data) => {
      if (this.#ws === ws) this.#onFrame(data);
    });
    ws.on("error", () => {});
    ws.on("close", (code) => {
      // A socket that never opened is a failed connect, which connect() reports itself.
      if (this.#ws !== ws || this.#closing || !this.#opened) return;
      this.#closing = true;
      this.sink.lost(`closed ${code}`);
    });
    return withTimeout(open, "ws-relay connect").catch((e: unknown) => {
      this.close();
      throw e;
    });
  }

  async createRoom(name: string): Promise<string> {
    await this.joinRoom(name);
    return name;
  }

  joinRoom(key: string): Promise<void> {
    const joined = new Promise<void>((resolve) => this.#joins.set(key, resolve));
    this.#ws?.send(JSON.stringify({ type: "join", room: key }));
    return withTimeout(joined, "ws-relay join");
  }

  send(roomKey: string, payload: string): void {
    this.#ws?.send(`{"type":"send","room":"${roomKey}","payload":"${payload}"}`);
  }

  close(): void {
    this.#closing = true;
    this.#ws?.terminate();
  }

  #onFrame(data: RawData): void {
    if (!Buffer.isBuffer(data)) return;
    if (startsWith(data, ACK)) {
      this.sink.ack();
      return;
    }
    if (startsWith(data, JOINED)) {
      const room = (JSON.parse(data.toString("utf8")) as { room?: unknown }).room;
      if (typeof room === "string") this.#joins.get(room)?.();
      return;
    }
    const header = headerInFrame(data);
    if (header !== null) this.sink.delivery(header);
  }
}
