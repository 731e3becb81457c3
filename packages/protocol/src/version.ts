/**
 * The wire protocol version. A client announces it in its `auth` frame; the server refuses a
 * version it does not speak with `unsupported_protocol_version` (PROTO-1 in docs/PROTOCOL.md).
 */
export const PROTOCOL_VERSION = 1;

/** The WebSocket path on the server's HTTPS origin. */
export const WS_PATH = "/ws";
