import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";

/**
 * What both reference servers share with the harness: where to listen, the `listening` line on
 * stdout, `GET /lag` (event-loop delay since the previous call, like Parley's
 * parley_nodejs_eventloop_lag_* gauges, same 20 ms resolution) and a clean exit on SIGTERM.
 */

export interface PeerAddress {
  host: string;
  port: number;
}

export function peerAddress(): PeerAddress {
  const { values } = parseArgs({
    options: { host: { type: "string", default: "127.0.0.1" }, port: { type: "string", default: "0" } },
    strict: true,
  });
  return { host: values.host, port: Number(values.port) };
}

const delay = monitorEventLoopDelay({ resolution: 20 });
delay.enable();

/** Answers GET /lag; returns false for any other request so the caller can 404 it. */
export function serveLag(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET" || req.url !== "/lag") return false;
  const s = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  const body = JSON.stringify({
    meanS: s(delay.mean),
    p50S: s(delay.percentile(50)),
    p99S: s(delay.percentile(99)),
    maxS: s(delay.max),
  });
  delay.reset();
  res.writeHead(200, { "content-type": "application/json" }).end(body);
  return true;
}

export function announce(server: Server, path: string): void {
  const { address, port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ event: "listening", url: `ws://${address}:${port}${path}` })}\n`);
}

export function exitOnSignal(close: () => void): void {
  const stop = () => {
    close();
    // Whatever is still open after a second is not worth waiting for.
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
