import type { DeviceRef } from "@parley/protocol";
import type { RoomId, SessionId, UserId } from "../domain/ids.js";
import type { LinkStore } from "./link-store.js";

/**
 * Cross-connection state: fan-out of frames to users' devices, presence, and control events
 * (session revocation, membership changes). The domain talks only to this interface, so a
 * Redis implementation can spread one Parley over several servers without touching it.
 *
 * `deliver` is the relay's hot path: it takes a frame already serialised once and hands the
 * same buffer to every recipient device; it is synchronous for the in-memory bus.
 */
export interface Bus {
  /** Open device links (IDENT-3), seen alike by every server that shares the bus. */
  readonly links: LinkStore;
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
  /**
   * Of these devices, the keys (`deviceKey`) of those that may be connected somewhere (RELAY-5,
   * the offline queue).
   * Exact for this server's own connections. Presence in a cluster is kept per user, not per
   * device, so a device of a user who has any connection on another node counts as connected:
   * queueing for it as well would hand it the message twice, and MLS refuses a second
   * decryption of one ciphertext.
   */
  connectedDevices(devices: readonly DeviceRef<UserId>[]): Promise<ReadonlySet<string>>;
  publishControl(event: ControlEvent): void;
  /** True while the bus can reach every node (always, for the in-memory bus). */
  healthy(): boolean;
  close(): Promise<void>;
}

export interface BusSink {
  deliverLocal(userIds: readonly UserId[], frame: Buffer, exceptConnection?: string): void;
  deliverLocalDevice(userId: UserId, deviceId: string, frame: Buffer): void;
  /** True when this device has an authenticated connection on this server. */
  hasLocalDevice?(userId: UserId, deviceId: string): boolean;
  onControl(event: ControlEvent): void;
}

/** Why a session's sockets are closed (the `error` code they get). */
export type SessionEndReason =
  | "session_revoked"
  | "account_disabled"
  | "device_removed"
  /** ACCT-2: ended from another session of the account, or by an admin. */
  | "session_ended"
  /** ACCT-3. */
  | "account_deleted";

export type ControlEvent =
  | { type: "session.revoked"; sessionId: SessionId; reason: SessionEndReason }
  /** IDENT-5: the account removed this device: close its sockets wherever they are. */
  | { type: "device.removed"; userId: UserId; deviceId: string }
  | { type: "membership.changed"; roomId: RoomId }
  /** Someone followed or unfollowed this user: drop the cached list of their followers. */
  | { type: "subscriptions.changed"; userId: UserId }
  /**
   * Offline-queue entries were written for these devices (RELAY-5). A device that connected to
   * any server while they were being written may have read its queue just before; its server
   * sends it the rest. Best effort: not kept through an outage (the device gets the entries on
   * its next connection anyway).
   */
  | { type: "queue.written"; devices: readonly { userId: UserId; deviceId: string }[] };

/** Control events worth keeping through a bus outage (the others are only hints). */
export function isDurableControl(event: ControlEvent): boolean {
  return event.type !== "queue.written";
}
