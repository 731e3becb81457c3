// The `ack` frame (WS-6), the one answer on the relay's hot path, serialised without a generic serialiser.
import type { Sent } from "../domain/relay.js";

const ACK_OPEN = '{"type":"ack",';

/**
 * The bytes `JSON.stringify({ type: "ack", rid, id, ts })` gives, key order included. The id is
 * the server's own (MessageIdGenerator: base64url and base-36 characters, never escaped); the
 * rid is the client's and goes through JSON.stringify.
 */
export function ackFrame(rid: string | undefined, sent: Sent): string {
  const head = rid === undefined ? ACK_OPEN : `${ACK_OPEN}"rid":${JSON.stringify(rid)},`;
  return `${head}"id":"${sent.id}","ts":${sent.ts}}`;
}
