// A server frame as it goes on the socket: built once, the same bytes for every recipient (RELAY-2).
declare const wire: unique symbol;

/** A complete WebSocket text frame (header and JSON), ready to be written to any client's socket. */
export type WireFrame = Buffer & { readonly [wire]: true };

/**
 * Frames serialised JSON as one unfragmented WebSocket text frame: RFC 6455 §5.2 (FIN set,
 * opcode 1, payload length in 7, 7+16 or 7+64 bits) and unmasked, as every frame from a server
 * is (§5.1). Nothing in it depends on the recipient, so a message going to a room is framed
 * once and the same buffer is written to every member's socket; `ws` would build a header and
 * queue two writes per recipient.
 */
export function wireFrame(json: Buffer | string): WireFrame {
  const length = typeof json === "string" ? Buffer.byteLength(json) : json.length;
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + length);
  out[0] = 0x81;
  if (head === 2) {
    out[1] = length;
  } else if (head === 4) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    out.writeUInt32BE(length >>> 0, 6);
  }
  if (typeof json === "string") out.write(json, head, "utf8");
  else json.copy(out, head);
  return out as WireFrame;
}
