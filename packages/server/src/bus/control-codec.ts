// Control events on the Redis control channel: encoded as JSON with their sender, parsed as untrusted input.
import { asRoomId, asSessionId, asUserId, type UserId } from "../domain/ids.js";
import type { ControlEvent, SessionEndReason } from "./bus.js";

const SESSION_END_REASONS: ReadonlySet<SessionEndReason> = new Set<SessionEndReason>([
  "session_revoked",
  "account_disabled",
  "device_removed",
  "session_ended",
  "account_deleted",
]);

/** A control event naming more devices than this is refused as malformed. */
const MAX_CONTROL_DEVICES = 10_000;

/** The control channel's message for `event`, sent by node `from`. */
export function encodeControl(from: string, event: ControlEvent): string {
  return JSON.stringify({ from, event });
}

/** Null for anything malformed: Redis is shared infrastructure, not a trusted peer. */
export function parseControl(message: Buffer): { from: string; event: ControlEvent } | null {
  let v: unknown;
  try {
    v = JSON.parse(message.toString("utf8"));
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const { from, event } = v as { from?: unknown; event?: unknown };
  if (typeof from !== "string" || typeof event !== "object" || event === null) return null;
  const e = event as Record<string, unknown>;
  switch (e.type) {
    case "session.revoked":
      if (typeof e.sessionId !== "string") return null;
      if (!SESSION_END_REASONS.has(e.reason as SessionEndReason)) return null;
      return {
        from,
        event: { type: e.type, sessionId: asSessionId(e.sessionId), reason: e.reason as SessionEndReason },
      };
    case "device.removed":
      if (typeof e.userId !== "string" || typeof e.deviceId !== "string") return null;
      return { from, event: { type: e.type, userId: asUserId(e.userId), deviceId: e.deviceId } };
    case "membership.changed":
      if (typeof e.roomId !== "string") return null;
      return { from, event: { type: e.type, roomId: asRoomId(e.roomId) } };
    case "subscriptions.changed":
      if (typeof e.userId !== "string") return null;
      return { from, event: { type: e.type, userId: asUserId(e.userId) } };
    case "queue.written": {
      if (!Array.isArray(e.devices) || e.devices.length > MAX_CONTROL_DEVICES) return null;
      const devices: { userId: UserId; deviceId: string }[] = [];
      for (const d of e.devices as unknown[]) {
        const { userId, deviceId } = (typeof d === "object" && d !== null ? d : {}) as Record<
          string,
          unknown
        >;
        if (typeof userId !== "string" || typeof deviceId !== "string") return null;
        devices.push({ userId: asUserId(userId), deviceId });
      }
      return { from, event: { type: e.type, devices } };
    }
    default:
      return null;
  }
}
