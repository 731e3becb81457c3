/** The client's one WebSocket: authentication, request/answer correlation by rid, rate-limit retries, and reconnects with backoff and failover. */
import {
  type ClientFrame,
  PROTOCOL_VERSION,
  SERVER_FRAME_SCHEMAS,
  type ServerFrame,
  type ServerFrameOf,
  type ServerFrameType,
} from "@parley/protocol";
import { Check } from "typebox/value";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { clientAction, fromErrorBody, ParleyClientError } from "./errors.js";
import { parseJson } from "./json.js";
import { sleep, type Timers, type WebSocketConstructor, type WebSocketLike, WS_OPEN } from "./platform.js";
import { ServerList } from "./servers.js";

export type ConnectionStatus =
  | { readonly state: "connecting" }
  /** `server`: the origin of the server this connection talks to. */
  | { readonly state: "connected"; readonly server: string }
  | {
      readonly state: "reconnecting";
      readonly inMs: number;
      readonly attempt: number;
      readonly reason: string;
    }
  | { readonly state: "offline"; readonly reason: string };

/** A client frame without `rid`: the connection adds one. */
export type RequestFrame = ClientFrame extends infer F ? (F extends unknown ? Omit<F, "rid"> : never) : never;

export interface RequestOptions {
  /** Default: the connection's requestTimeoutMs. */
  timeoutMs?: number;
  /** Sent as soon as the socket is authenticated, before the `onReady` set-up has finished. */
  early?: boolean;
}

export interface ConnectionOptions {
  /**
   * The servers to connect to. After a close that says the server went away (see FAILOVER),
   * the next attempt goes to the next server in the list.
   */
  servers: ServerList;
  WebSocket: WebSocketConstructor;
  /** An access token for the `auth` frame; `refresh` asks for a new one (after token_expired). */
  token: (refresh: boolean) => Promise<string>;
  /** The device this connection speaks for (MLS-1). */
  deviceId: () => string;
  timers: Timers;
  backoff?: BackoffOptions;
  /** Default 15000 ms. */
  requestTimeoutMs?: number;
  /** `rate_limited` answers are retried after the server's delay this many times. Default 5. */
  rateLimitRetries?: number;
  /** Runs after `ready`, before requests are let through (device registration). */
  onReady: (ready: ServerFrameOf<"ready">) => Promise<void>;
  /** Every pushed frame (one that answers no request of ours), in arrival order. */
  onFrame: (frame: ServerFrame) => void;
  onStatus: (status: ConnectionStatus) => void;
  /** A frame that is not valid protocol, or set-up that failed. */
  onError: (error: ParleyClientError) => void;
  /** The session was ended by the server; no reconnect. */
  onSignedOut: (code: string) => void;
}

/**
 * Closes that say this server cannot serve us now, where another one of the same service may
 * (RFC 6455 §7.4.1): 1001 going away (shutdown), 1006 no close frame (crash, refused, network
 * or TLS failure), 1011 internal error, 1012 service restart, 1013 try again later (a backing
 * service is down), 1014 bad gateway. Other closes are about us (auth, token, policy): the
 * same answer would come from every server, so the client stays where it is.
 */
const FAILOVER_CODES = new Set([1001, 1006, 1011, 1012, 1013, 1014]);

interface Pending {
  resolve: (frame: ServerFrame) => void;
  reject: (error: ParleyClientError) => void;
  timer: unknown;
}

/**
 * The one WebSocket of a client: authenticates it (WS-1), correlates requests and answers by
 * `rid` (PROTO-5), retries rate-limited requests, and reconnects with backoff and jitter after
 * any close the protocol says is worth retrying, refreshing the token when it expired.
 */
export class Connection {
  #ws: WebSocketLike | undefined;
  /** The origin `#ws` was opened to. */
  #origin = "";
  #stopped = true;
  #authed = false;
  #ready = false;
  #refreshNext = false;
  #lastError: string | undefined;
  #retryTimer: unknown;
  #rid = 0;
  readonly #pending = new Map<string, Pending>();
  #readyWaiters: { resolve: () => void; reject: (e: ParleyClientError) => void }[] = [];
  readonly #backoff: Backoff;
  readonly #timeout: number;
  readonly #rateRetries: number;

  constructor(private readonly o: ConnectionOptions) {
    this.#backoff = new Backoff(o.backoff);
    this.#timeout = o.requestTimeoutMs ?? 15_000;
    this.#rateRetries = o.rateLimitRetries ?? 5;
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Opens the socket (and keeps reopening it) until stop(). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#backoff.reset();
    this.#open();
  }

  /** Closes for good: pending requests fail with `closed`, no reconnect. */
  stop(reason = "closed"): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.o.timers.clearTimeout(this.#retryTimer);
    const ws = this.#ws;
    this.#ws = undefined;
    this.#authed = false;
    this.#ready = false;
    if (ws !== undefined) {
      detach(ws);
      try {
        ws.close(1000, "client closing");
      } catch {
        // already closed
      }
    }
    this.#failAll(new ParleyClientError("closed"));
    this.o.onStatus({ state: "offline", reason });
  }

  /** Resolves when the connection is authenticated and set up; rejects after `timeoutMs`. */
  whenReady(timeoutMs = this.#timeout): Promise<void> {
    if (this.#ready) return Promise.resolve();
    if (this.#stopped) return Promise.reject(new ParleyClientError("not_connected"));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          this.o.timers.clearTimeout(timer);
          resolve();
        },
        reject: (e: ParleyClientError) => {
          this.o.timers.clearTimeout(timer);
          reject(e);
        },
      };
      const timer = this.o.timers.setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((w) => w !== waiter);
        reject(new ParleyClientError("not_connected"));
      }, timeoutMs);
      this.#readyWaiters.push(waiter);
    });
  }

  /**
   * Sends a request and resolves with its answer; an `error` answer rejects with its code.
   * `rate_limited` is retried after the server's delay (the frame was not carried out).
   */
  async request<T extends ServerFrameType>(
    frame: RequestFrame,
    expect: T | readonly T[],
    options: RequestOptions = {},
  ): Promise<ServerFrameOf<T>> {
    const types: readonly string[] = typeof expect === "string" ? [expect] : expect;
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.#requestOnce(frame, options);
        if (!types.includes(answer.type)) {
          throw new ParleyClientError("unexpected_answer", {
            message: `expected ${types.join(" or ")} for ${frame.type}, got ${answer.type}`,
          });
        }
        return answer as ServerFrameOf<T>;
      } catch (e) {
        if (
          !(e instanceof ParleyClientError) ||
          clientAction(e.code) !== "retry" ||
          attempt >= this.#rateRetries
        )
          throw e;
        await sleep(this.o.timers, Math.max(e.retryAfterMs ?? 100, 10));
      }
    }
  }

  /** Sends a frame that has no answer (typing, mls.ack); dropped when not connected. */
  fire(frame: ClientFrame): boolean {
    const ws = this.#ws;
    if (!this.#authed || ws === undefined || ws.readyState !== WS_OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  async #requestOnce(frame: RequestFrame, options: RequestOptions): Promise<ServerFrame> {
    const timeoutMs = options.timeoutMs ?? this.#timeout;
    if (options.early === true ? !this.#authed : !this.#ready) await this.whenReady(timeoutMs);
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== WS_OPEN) throw new ParleyClientError("not_connected");
    this.#rid = (this.#rid + 1) % Number.MAX_SAFE_INTEGER;
    const rid = `c${this.#rid}`;
    return new Promise<ServerFrame>((resolve, reject) => {
      const timer = this.o.timers.setTimeout(() => {
        this.#pending.delete(rid);
        reject(
          new ParleyClientError("timeout", { message: `no answer to ${frame.type} within ${timeoutMs} ms` }),
        );
      }, timeoutMs);
      this.#pending.set(rid, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...frame, rid }));
    });
  }

  #open(): void {
    if (this.#stopped) return;
    this.o.onStatus({ state: "connecting" });
    this.#lastError = undefined;
    const origin = this.o.servers.current;
    this.#origin = origin;
    let ws: WebSocketLike;
    try {
      ws = new this.o.WebSocket(ServerList.wsUrl(origin));
    } catch (cause) {
      this.o.onError(new ParleyClientError("not_connected", { cause }));
      this.o.servers.failover(origin);
      this.#scheduleReconnect("connect_failed");
      return;
    }
    this.#ws = ws;
    ws.onopen = (() => {
      void this.#authenticate(ws);
    }) as (event: never) => void;
    ws.onmessage = ((event: { data?: unknown }) => {
      if (this.#ws === ws) this.#onMessage(event.data);
    }) as (event: never) => void;
    ws.onerror = (() => {
      // The close event follows with the details.
    }) as (event: never) => void;
    ws.onclose = ((event: { code?: unknown; reason?: unknown }) => {
      if (this.#ws !== ws) return;
      this.#onClose(
        typeof event.code === "number" ? event.code : 1006,
        typeof event.reason === "string" ? event.reason : "",
      );
    }) as (event: never) => void;
  }

  async #authenticate(ws: WebSocketLike): Promise<void> {
    let token: string;
    try {
      token = await this.o.token(this.#refreshNext);
      this.#refreshNext = false;
    } catch (e) {
      const code = e instanceof ParleyClientError ? e.code : "not_connected";
      if (this.#ws !== ws) return;
      if (clientAction(code) === "sign_in") {
        this.#signedOut(code);
      } else {
        this.#lastError = code;
        ws.close(1000, "no token");
      }
      return;
    }
    if (this.#ws !== ws || ws.readyState !== WS_OPEN) return;
    ws.send(
      JSON.stringify({ type: "auth", token, protocolVersion: PROTOCOL_VERSION, deviceId: this.o.deviceId() }),
    );
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") return; // the protocol has text frames only (PROTO-3)
    let value: unknown;
    try {
      value = parseJson(data);
    } catch {
      this.o.onError(new ParleyClientError("unexpected_answer", { message: "a frame is not JSON" }));
      return;
    }
    const type = typeof value === "object" && value !== null ? (value as { type?: unknown }).type : undefined;
    const schema = typeof type === "string" ? SERVER_FRAME_SCHEMAS.get(type) : undefined;
    // Unknown frame types are skipped: a newer server may send more than this client knows.
    if (schema === undefined) return;
    if (!Check(schema, value)) {
      this.o.onError(
        new ParleyClientError("unexpected_answer", {
          message: `a ${String(type)} frame does not match the protocol`,
        }),
      );
      return;
    }
    const frame = value as ServerFrame;
    const rid = "rid" in frame ? frame.rid : undefined;
    const pending = rid === undefined ? undefined : this.#pending.get(rid);
    if (pending !== undefined && rid !== undefined) {
      this.#pending.delete(rid);
      this.o.timers.clearTimeout(pending.timer);
      if (frame.type === "error") pending.reject(fromErrorBody(frame));
      else pending.resolve(frame);
      return;
    }
    if (frame.type === "ready" && !this.#authed) {
      this.#authed = true;
      void this.#setUp(frame);
      return;
    }
    if (frame.type === "error" && !this.#authed) {
      this.#lastError = frame.code;
      return;
    }
    this.o.onFrame(frame);
  }

  async #setUp(ready: ServerFrameOf<"ready">): Promise<void> {
    const ws = this.#ws;
    try {
      await this.o.onReady(ready);
    } catch (e) {
      if (this.#ws !== ws) return;
      this.o.onError(
        e instanceof ParleyClientError ? e : new ParleyClientError("internal_error", { cause: e }),
      );
      this.#lastError = "setup_failed";
      ws?.close(1000, "set-up failed");
      return;
    }
    if (this.#ws !== ws || !this.#authed) return;
    this.#ready = true;
    this.#backoff.reset();
    this.o.onStatus({ state: "connected", server: this.#origin });
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const w of waiters) w.resolve();
  }

  #onClose(code: number, reason: string): void {
    const ws = this.#ws;
    if (ws !== undefined) detach(ws);
    this.#ws = undefined;
    this.#authed = false;
    this.#ready = false;
    this.#failAll(new ParleyClientError("connection_lost"), false);
    const why = reason !== "" ? reason : (this.#lastError ?? `close_${code}`);
    if (this.#stopped) return;
    // What the registries say to do about the close reason (docs/PROTOCOL.md, sections 9 and 10);
    // any other close (a bare close code, another server's reason) is worth a reconnect.
    const action = clientAction(why);
    if (action === "sign_in") {
      this.#signedOut(why);
      return;
    }
    if (action === "give_up") {
      this.#stopped = true;
      this.#failAll(new ParleyClientError("not_connected"));
      this.o.onStatus({ state: "offline", reason: why });
      return;
    }
    if (action === "refresh") this.#refreshNext = true;
    // Backoff keeps counting across servers: when every server is down, the retries still
    // slow down, and full jitter still spreads the clients of a dead server over the others.
    if (FAILOVER_CODES.has(code)) this.o.servers.failover(this.#origin);
    this.#scheduleReconnect(why);
  }

  #scheduleReconnect(reason: string): void {
    if (this.#stopped) return;
    const attempt = this.#backoff.attempt + 1;
    const inMs = this.#backoff.next();
    this.o.onStatus({ state: "reconnecting", inMs, attempt, reason });
    this.#retryTimer = this.o.timers.setTimeout(() => this.#open(), inMs);
  }

  #signedOut(code: string): void {
    // IDENT-5: whoever waits for this connection learns why it will never come.
    if (code === "device_removed") this.#failAll(new ParleyClientError("device_removed"));
    this.stop(code);
    this.o.onSignedOut(code);
  }

  /** Fails in-flight requests; with `waiters`, also those waiting for the connection. */
  #failAll(error: ParleyClientError, waiters = true): void {
    for (const [rid, p] of this.#pending) {
      this.o.timers.clearTimeout(p.timer);
      this.#pending.delete(rid);
      p.reject(error);
    }
    if (!waiters) return;
    const w = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const x of w) x.reject(error);
  }
}

function detach(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  // Not null: a socket closed while connecting still reports an error, and Node's `ws` throws
  // an error nobody listens to.
  ws.onerror = (() => {}) as (event: never) => void;
}
