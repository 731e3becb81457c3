/** Bounded waits for the group-sync unit tests: every device at one epoch, or a condition true. */
import type { GroupSync } from "../group-sync.js";
import type { GroupStates } from "../groups.js";
import { defaultTimers } from "../platform.js";

/** What the waits need of a test device. */
export interface SettlingDevice {
  readonly sync: Pick<GroupSync, "drain">;
  readonly groups: Pick<GroupStates, "epoch">;
}

const pause = () => new Promise<void>((r) => defaultTimers.setTimeout(r, 10));

/** The device's epoch in `roomId`, or undefined when it holds no group there. */
export async function epochIn(d: SettlingDevice, roomId: string): Promise<number | undefined> {
  const e = await d.groups.epoch(roomId);
  return e === undefined ? undefined : Number(e);
}

/** Waits (bounded by count) until every device has handled what reached it and all agree. */
export async function settled(devices: readonly SettlingDevice[], roomId: string): Promise<number> {
  const epochs = () => Promise.all(devices.map((d) => epochIn(d, roomId)));
  for (let i = 0; i < 200; i++) {
    await Promise.all(devices.map((d) => d.sync.drain()));
    const now = await epochs();
    if (now.every((e) => e !== undefined && e === now[0])) return now[0] as number;
    await pause();
  }
  throw new Error(`epochs differ: ${(await epochs()).join(", ")}`);
}

/** Waits (bounded by count) until `check` holds. */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await pause();
  }
  throw new Error(`never: ${what}`);
}
