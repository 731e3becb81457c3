/**
 * What the load generator needs from a client of any of the servers under test. Each
 * implementation speaks its server's protocol in the lightest way it can (raw `ws` and string
 * search for Parley and ws-relay) so that the generator is not the bottleneck it measures.
 */
export interface BenchClient {
  /** Opens the socket and, for Parley, authenticates; resolves once messages may be sent. */
  connect(): Promise<void>;
  /** Creates a room with this client in it; resolves with the key others join and send to. */
  createRoom(name: string): Promise<string>;
  joinRoom(key: string): Promise<void>;
  /** Sends one payload to a room; fire and forget, the server's ack arrives on the sink. */
  send(roomKey: string, payload: string): void;
  /** Closes at once without waiting for the closing handshake. */
  close(): void;
}

/** Where every client of a generator process reports what it receives. */
export interface ClientSink {
  /** A relayed message arrived; `header` is the first 24 characters of its payload. */
  delivery(header: string): void;
  ack(): void;
  /** An error frame the server sent outside any request (e.g. rate_limited on a send). */
  error(code: string): void;
  /** The socket closed without the generator asking for it. */
  lost(reason: string): void;
}

export type ClientKind = "parley" | "ws-relay" | "socketio";

export interface ClientTarget {
  readonly kind: ClientKind;
  /** ws:// or wss:// URL of the WebSocket endpoint (Socket.IO: its http(s) origin). */
  readonly url: string;
  /** PEM of the CA that signed the server's certificate, for wss://. */
  readonly ca?: string;
  /** Parley: acknowledge every delivery with batched `receipt` frames, as the SDK does (RCPT-1). */
  readonly receipts?: boolean;
}

export interface ClientIdentity {
  /** Parley access token; unused by the references. */
  readonly token: string;
  /** Source address on 127/8: spreading clients over several keeps ephemeral ports plentiful. */
  readonly localAddress: string;
  /** The node this client opens instead of the target's URL (multi-node targets). */
  readonly url?: string;
}

/** How long a connect or a room request may take before it counts as failed. */
export const REQUEST_TIMEOUT_MS = 20_000;

export class RequestTimeoutError extends Error {
  readonly code = "BENCH_REQUEST_TIMEOUT";
}

/** Rejects `p` after REQUEST_TIMEOUT_MS. */
export function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RequestTimeoutError(`${what} timed out`)), REQUEST_TIMEOUT_MS);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
