// Builds the `ready` frame a socket gets once its `auth` is accepted (WS-1).
import { PROTOCOL_VERSION, type ServerFrameOf } from "@parley/protocol";
import type { Config } from "../config/config.js";
import type { AuthContext } from "../domain/accounts.js";

/**
 * WS-1: the `ready` frame a socket gets once its `auth` is accepted: who it is, its session, the
 * protocol version, the server's clock, the limits it must keep and the server's MLS suite.
 */
export function readyFrame(
  auth: AuthContext,
  config: Pick<Config, "maxFrameBytes" | "frameRate" | "frameBurst" | "mlsSuite">,
  now: number,
): ServerFrameOf<"ready"> {
  return {
    type: "ready",
    user: { id: auth.userId, username: auth.username, isAdmin: auth.isAdmin },
    sessionId: auth.sessionId,
    protocolVersion: PROTOCOL_VERSION,
    serverTime: now,
    limits: {
      maxFrameBytes: config.maxFrameBytes,
      messageRate: config.frameRate,
      messageBurst: config.frameBurst,
    },
    mlsSuite: config.mlsSuite,
  };
}
