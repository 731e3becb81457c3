// Pings every open connection on an interval and ends the ones that missed two pongs.
import type { Connection } from "./connection.js";

/** Starts the heartbeat over `connections`; returns the function that stops it. */
export function startHeartbeat(connections: () => Iterable<Connection>, intervalMs: number): () => void {
  const timer = setInterval(() => {
    for (const conn of connections()) {
      if (conn.missedPongs >= 2) {
        conn.close("heartbeat_timeout");
        conn.ws.terminate();
        continue;
      }
      conn.missedPongs++;
      conn.ws.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
