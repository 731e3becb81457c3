import type { RoomId, SessionId, UserId } from "../domain/ids.js";

/**
 * Cross-connection state: fan-out of frames to users' devices, presence, and control events
 * (session revocation, membership changes). The domain talks only to this interface, so a
 * Redis implementation can spread one Parley over several servers without touching it.
 *
 * `deliver` is the relay's hot path: it takes a frame already serialised once and hands the
 * same buffer to every recipient device; it is synchronous for the in-memory bus.
 */
export interface Bus {
  /** Registers this server's local connections as the sink for deliveries and control events. */
  attach(sink: BusSink): void;
  /** Sends one serialised frame to every connected device of these users. */
  deliver(userIds: readonly UserId[], frame: Buffer, exceptConnection?: string): void;
  /** Sends a frame to the connections of one device (MLS handshake traffic is per device). */
  deliverToDevice(userId: UserId, deviceId: string, frame: Buffer): void;
  /**
   * A device connected; returns the user's open connection count on every server that shares
   * the bus (LIMIT-3, the duplicate-login policy) and whether they just came online.
   */
  connectionOpened(userId: UserId, connectionId: string): Promise<{ count: number; cameOnline: boolean }>;
  /** A device disconnected; returns whether the user just went offline. */
  connectionClosed(userId: UserId, connectionId: string): Promise<{ wentOffline: boolean }>;
  onlineUserIds(): Promise<ReadonlySet<UserId>>;
  publishControl(event: ControlEvent): void;
  /** True while the bus can reach every node (always, for the in-memory bus). */
  healthy(): boolean;
  close(): Promise<void>;
}

export interface BusSink {
  deliverLocal(userIds: readonly UserId[], frame: Buffer, exceptConnection?: string): void;
  deliverLocalDevice(userId: UserId, deviceId: string, frame: Buffer): void;
  onControl(event: ControlEvent): void;
}

export type ControlEvent =
  | { type: "session.revoked"; sessionId: SessionId; reason: "session_revoked" | "account_disabled" }
  | { type: "membership.changed"; roomId: RoomId }
  /** Someone followed or unfollowed this user: drop the cached list of their followers. */
  | { type: "subscriptions.changed"; userId: UserId };
