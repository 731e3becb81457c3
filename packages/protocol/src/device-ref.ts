/**
 * One device of one account: the pair the delivery service queues for, a Commit adds or removes,
 * and an MLS credential names. `U` lets the server use its branded user id type.
 */
export interface DeviceRef<U extends string = string> {
  readonly userId: U;
  readonly deviceId: string;
}

/**
 * A string key for a device, for maps and sets: user id and device id, NUL-separated (neither
 * may contain NUL, so two devices never share a key).
 */
export function deviceKey(ref: DeviceRef): string;
export function deviceKey(userId: string, deviceId: string): string;
export function deviceKey(refOrUserId: DeviceRef | string, deviceId?: string): string {
  return typeof refOrUserId === "string"
    ? `${refOrUserId}\u0000${deviceId}`
    : `${refOrUserId.userId}\u0000${refOrUserId.deviceId}`;
}

/** Whether two refs name the same device. */
export function sameDevice(a: DeviceRef, b: DeviceRef): boolean {
  return a.userId === b.userId && a.deviceId === b.deviceId;
}
