/** Branded identifiers: mixing a user id with a room id is a type error, not a runtime bug. */
import type { DeviceRef } from "@parley/protocol";

export type UserId = string & { readonly __brand: "UserId" };
export type RoomId = string & { readonly __brand: "RoomId" };
export type SessionId = string & { readonly __brand: "SessionId" };

export const asUserId = (s: string): UserId => s as UserId;
export const asRoomId = (s: string): RoomId => s as RoomId;
export const asSessionId = (s: string): SessionId => s as SessionId;

/** A device named elsewhere (an MLS credential, a frame) with the server's branded user id. */
export const asDeviceRef = ({ userId, deviceId }: DeviceRef): DeviceRef<UserId> => ({
  userId: asUserId(userId),
  deviceId,
});
