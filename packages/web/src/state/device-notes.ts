import { signal } from "@preact/signals";

/**
 * "bob added a device": news, not an alarm (issue 14). A person's new device certified by their
 * identity key is shown as a quiet line in the conversations they are in, for as long as the
 * page is open; it changes nobody's trust.
 */
export interface DeviceNote {
  readonly userId: string;
  readonly deviceId: string;
  readonly at: number;
}

export const deviceNotes = signal<readonly DeviceNote[]>([]);

/** At most this many notes are kept: older ones drop off first. */
const MAX_NOTES = 200;

export function noteDeviceAdded(userId: string, deviceId: string, at = Date.now()): void {
  if (deviceNotes.value.some((n) => n.userId === userId && n.deviceId === deviceId)) return;
  deviceNotes.value = [...deviceNotes.value, { userId, deviceId, at }].slice(-MAX_NOTES);
}

export function clearDeviceNotes(): void {
  deviceNotes.value = [];
}

/** The notes about any of `userIds`, oldest first. */
export function notesAbout(userIds: readonly string[]): DeviceNote[] {
  const wanted = new Set(userIds);
  return deviceNotes.value.filter((n) => wanted.has(n.userId));
}
