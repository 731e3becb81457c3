import { optionalImport, SOCKET_IO_MISSING } from "../../system/optional-import.js";
import { HEADER_CHARS } from "../payload.js";
import {
  type BenchClient,
  type ClientIdentity,
  type ClientSink,
  type ClientTarget,
  withTimeout,
} from "./bench-client.js";

/**
 * A client of bench/peers/socketio-relay.ts on the official `socket.io-client`, WebSocket
 * transport only: what a Socket.IO application would ship. Heavier per message than the raw
 * `ws` clients (engine.io and socket.io decoding, event dispatch), which the generator-bound
 * check in the report accounts for.
 */

interface IoClientSocket {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
  timeout(ms: number): { emit(event: string, ...args: unknown[]): unknown };
  disconnect(): unknown;
}
interface SocketIoClientModule {
  io(url: string, options: Record<string, unknown>): IoClientSocket;
}

let io: SocketIoClientModule | null = null;

/** Loads socket.io-client once per process; throws with the report's wording if missing. */
export async function loadSocketIoClient(): Promise<void> {
  io ??= await optionalImport<SocketIoClientModule>("socket.io-client");
  if (!io) throw new Error(SOCKET_IO_MISSING);
}

export class SocketIoClient implements BenchClient {
  #socket: IoClientSocket | null = null;
  #closing = false;
  readonly #onAck = () => this.sink.ack();

  constructor(
    private readonly target: ClientTarget,
    private readonly identity: ClientIdentity,
    private readonly sink: ClientSink,
  ) {}

  /** May be called again after a failure: each attempt has its own socket, the old one is dropped. */
  connect(): Promise<void> {
    if (!io) throw new Error(SOCKET_IO_MISSING);
    this.#socket?.disconnect();
    this.#closing = false;
    const url = new URL(this.target.url);
    const socket = io.io(`${url.protocol === "wss:" ? "https:" : "http:"}//${url.host}`, {
      path: url.pathname,
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      timeout: 15_000,
      perMessageDeflate: false,
      localAddress: this.identity.localAddress,
      ...(this.target.ca !== undefined ? { ca: this.target.ca } : {}),
    });
    this.#socket = socket;
    const connected = new Promise<void>((resolve, reject) => {
      socket.on("connect", () => resolve());
      socket.on("connect_error", (e) => reject(e instanceof Error ? e : new Error(String(e))));
    });
    socket.on("message", (m) => {
      if (this.#socket !== socket) return;
      const payload = (m as { payload?: unknown } | null)?.payload;
      if (typeof payload === "string") this.sink.delivery(payload.slice(0, HEADER_CHARS));
    });
    socket.on("disconnect", (reason) => {
      if (this.#socket !== socket || this.#closing) return;
      this.#closing = true;
      this.sink.lost(`disconnect ${String(reason)}`);
    });
    return withTimeout(connected, "socket.io connect").catch((e: unknown) => {
      this.close();
      throw e;
    });
  }

  async createRoom(name: string): Promise<string> {
    await this.joinRoom(name);
    return name;
  }

  joinRoom(key: string): Promise<void> {
    const socket = this.#socket;
    if (!socket) return Promise.reject(new Error("not connected"));
    const joined = new Promise<void>((resolve, reject) => {
      socket.timeout(15_000).emit("join", key, (err: unknown) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve();
      });
    });
    return withTimeout(joined, "socket.io join");
  }

  send(roomKey: string, payload: string): void {
    this.#socket?.emit("send", { room: roomKey, payload }, this.#onAck);
  }

  close(): void {
    this.#closing = true;
    this.#socket?.disconnect();
  }
}
