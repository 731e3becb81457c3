// The SDK's WebSocket constructor on Node, trusting exactly the server's pinned CA.
import type { WebSocketConstructor } from "@parley/client";
import WebSocket from "ws";

/**
 * The SDK's WebSocket constructor on Node: `ws`, verifying the server against exactly the CA
 * that server-trust.ts pinned (chain and host name, as https-fetch.ts does for REST). Node has no
 * global WebSocket that takes a CA. permessage-deflate stays off: the payloads are ciphertext.
 */
export function pinnedWebSocket(ca: string | null): WebSocketConstructor {
  const options: WebSocket.ClientOptions = { perMessageDeflate: false, ...(ca !== null ? { ca } : {}) };
  return class PinnedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, options);
    }
  } as unknown as WebSocketConstructor;
}
