import {
  PROTOCOL_VERSION,
  type ServerFrame,
  type ServerFrameOf,
  type ServerFrameType,
} from "@parley/protocol";
import WebSocket, { type ClientOptions } from "ws";
import type { TestServer } from "./harness.js";

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A WebSocket client for tests: keeps every frame it receives, lets a test wait for the next
 * frame of a type (with a bound, so a missing frame fails the test instead of hanging it).
 */
export class TestSocket {
  readonly frames: ServerFrame[] = [];
  readonly closed: Promise<Closed>;
  #waiters: { match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  #rid = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      const i = this.#waiters.findIndex((w) => w.match(frame));
      if (i >= 0) {
        const [w] = this.#waiters.splice(i, 1);
        w?.resolve(frame);
      } else {
        this.frames.push(frame);
      }
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on("error", () => {
      // surfaced through `closed` or the failed open
    });
  }

  static open(ts: TestServer, options: ClientOptions = {}): Promise<TestSocket> {
    const ws = new WebSocket(ts.wsUrl, { ...(ts.ca ? { ca: ts.ca } : {}), ...options });
    const socket = new TestSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(socket));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  /** Opens a socket and authenticates it with an access token; resolves after `ready`. */
  static async authed(ts: TestServer, token: string): Promise<TestSocket> {
    const socket = await TestSocket.open(ts);
    socket.send({ type: "auth", token, protocolVersion: PROTOCOL_VERSION });
    await socket.next("ready");
    return socket;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Sends a request frame with a fresh `rid` and waits for the answer carrying that rid. */
  async call(frame: Record<string, unknown>, timeoutMs = 10_000): Promise<ServerFrame> {
    this.#rid += 1;
    const rid = `r${this.#rid}`;
    this.send({ ...frame, rid });
    return this.waitFor((f) => "rid" in f && f.rid === rid, timeoutMs, `answer to ${String(frame.type)}`);
  }

  next<T extends ServerFrameType>(type: T, timeoutMs = 10_000): Promise<ServerFrameOf<T>> {
    return this.waitFor((f) => f.type === type, timeoutMs, type) as Promise<ServerFrameOf<T>>;
  }

  waitFor(match: (f: ServerFrame) => boolean, timeoutMs = 10_000, what = "frame"): Promise<ServerFrame> {
    const i = this.frames.findIndex(match);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0] as ServerFrame);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (f: ServerFrame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /**
   * Everything this socket has received so far and not yet consumed, after a round trip to the
   * server: a frame the server sent before answering is on the wire ahead of the answer, so
   * "it is not here" is proof it was not sent, with no waiting window to tune.
   */
  async settle(): Promise<ServerFrame[]> {
    await this.call({ type: "subscriptions.list" });
    return [...this.frames];
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * What `f` says of `userId`'s presence (PRES-1): a `presence` frame about them, or their entry
 * in a `presence.batch`; undefined when the frame says nothing of them.
 */
export function presenceOf(
  f: ServerFrame,
  userId: string,
): { online: boolean; username: string } | undefined {
  if (f.type === "presence")
    return f.userId === userId ? { online: f.online, username: f.username } : undefined;
  if (f.type !== "presence.batch") return undefined;
  const entry = f.users.find((u) => u.userId === userId);
  return entry ? { online: entry.online, username: entry.username } : undefined;
}
