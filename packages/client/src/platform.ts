/**
 * What the SDK needs from its host, as small interfaces the caller injects: the SDK is pure
 * and runs in browsers and in Node, so it never reaches for a DOM or node: global by itself.
 * Timers are the exception with a default, since every JavaScript host has them.
 */

/**
 * The subset of `fetch` the SDK uses; the browser's fetch and undici's satisfy it. Files
 * (files.ts) send bytes as the body and read bytes with `arrayBuffer()`; a fetch without
 * `arrayBuffer` can do everything but download files.
 */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string | Uint8Array<ArrayBuffer> },
) => Promise<FetchResponse>;

export interface FetchResponse {
  readonly status: number;
  text(): Promise<string>;
  arrayBuffer?(): Promise<ArrayBuffer>;
}

/** The browser WebSocket API surface the SDK uses (also what `ws` offers in Node). */
export interface WebSocketLike {
  readonly readyState: number;
  // Handlers take `never` so that sockets whose event types are richer (the DOM's, ws's) are
  // assignable; the SDK reads the events defensively (see connection.ts).
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** WebSocket.OPEN in every implementation (WHATWG HTML, "The WebSocket interface"). */
export const WS_OPEN = 1;

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

interface GlobalTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const defaultTimers: Timers = {
  setTimeout: (callback, ms) => (globalThis as unknown as GlobalTimers).setTimeout(callback, ms),
  clearTimeout: (handle) => (globalThis as unknown as GlobalTimers).clearTimeout(handle),
};

/** Resolves after `ms` on the given timers. */
export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}
