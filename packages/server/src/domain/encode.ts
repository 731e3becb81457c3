import type { ServerFrame } from "@parley/protocol";

/** Serialises a frame once; the same buffer goes to every recipient (RELAY-2 in docs/PROTOCOL.md). */
export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame));
}
