// The HTTP upgrade to a WebSocket: only on /ws, only from an allowed Origin (WS-2).
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { type ErrorCode, WS_PATH } from "@parley/protocol";
import { type WebSocket, WebSocketServer } from "ws";
import { ParleyError } from "../domain/errors.js";

export interface UpgradeOptions {
  /** The largest frame a client may send (ws closes with 1009 beyond it). */
  maxFrameBytes: number;
  /** Origins allowed besides the server's own (PARLEY_ALLOWED_ORIGINS). */
  allowedOrigins: readonly string[];
  /** Called with the refused request's client address. */
  onOriginRefused: (req: IncomingMessage) => void;
  /** A socket that passed the checks, with the TCP (or TLS) socket under it. */
  onSocket: (ws: WebSocket, req: IncomingMessage, socket: Duplex) => void;
}

/** Accepts WebSocket upgrades on `WS_PATH` and refuses every other one with a registry error body. */
export class UpgradeHandler {
  readonly #wss: WebSocketServer;
  readonly #allowedOrigins: ReadonlySet<string>;

  constructor(private readonly o: UpgradeOptions) {
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: o.maxFrameBytes,
      clientTracking: false,
    });
    this.#allowedOrigins = new Set(o.allowedOrigins);
  }

  attach(server: Server): void {
    server.on("upgrade", (req, socket, head) => this.#upgrade(req, socket, head));
  }

  close(): void {
    this.#wss.close();
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? "";
    if (url !== WS_PATH && !url.startsWith(`${WS_PATH}?`)) {
      refuse(socket, 404, "Not Found", "not_found");
      return;
    }
    // WS-2: Cross-Site WebSocket Hijacking defence. Browsers always send Origin; it must be this
    // server's own origin or one the operator allowed. Clients that are not browsers send none.
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#originAllowed(origin, req)) {
      this.o.onOriginRefused(req);
      refuse(socket, 403, "Forbidden", "origin_forbidden");
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.o.onSocket(ws, req, socket));
  }

  #originAllowed(origin: string, req: IncomingMessage): boolean {
    if (this.#allowedOrigins.has(origin)) return true;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return false;
    }
    const tls = "encrypted" in req.socket && req.socket.encrypted === true;
    return parsed.protocol === (tls ? "https:" : "http:") && parsed.host === req.headers.host;
  }
}

/** Refuses an upgrade with a plain HTTP answer carrying the registry's error body. */
function refuse(socket: Duplex, status: number, text: string, code: ErrorCode): void {
  const body = JSON.stringify(new ParleyError(code).toBody());
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Cache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
