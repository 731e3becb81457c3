/** How long messages stay on a device: the retention setting and disappearing-message timers, as pure functions over the model's messages. */
import type { Timers } from "../platform.js";
import type { ChatMessage } from "./types.js";

/**
 * How long messages stay on a device, as pure functions over the model's messages: the
 * device's retention setting (keep everything, keep N days, keep nothing between sessions) and
 * each conversation's disappearing-message timer, which every member's client applies to the
 * messages sent while it was set. The model calls these on load, on a timer and when a message
 * arrives; nothing here touches a store or a clock of its own.
 */

/** What this device keeps between sessions. `none`: messages live in memory only. */
export type HistoryRetention =
  | { readonly keep: "all" }
  | { readonly keep: "days"; readonly days: number }
  | { readonly keep: "none" };

/** The retention a new device starts with: everything, sealed on the device. */
export const DEFAULT_RETENTION: HistoryRetention = { keep: "all" };
/** The "keep for N days" choices the clients offer. */
export const RETENTION_DAYS = [1, 7, 30, 90] as const;

/** A conversation's disappearing-message timers, in seconds (0 is off): 1 hour, 1 day, 1 week. */
export const DISAPPEARING_SECONDS = [0, 3_600, 86_400, 604_800] as const;

const DAY_MS = 86_400_000;

/** `all`, `none` or `<N>d` (the form both clients store and the CLI accepts); undefined when not one. */
export function parseRetention(text: string | undefined): HistoryRetention | undefined {
  const t = text?.trim().toLowerCase();
  if (t === "all" || t === "keep" || t === "on") return { keep: "all" };
  if (t === "none" || t === "nothing" || t === "off") return { keep: "none" };
  const days = /^(\d{1,3})d$/.exec(t ?? "")?.[1];
  if (days === undefined) return undefined;
  const n = Number(days);
  return (RETENTION_DAYS as readonly number[]).includes(n) ? { keep: "days", days: n } : undefined;
}

export function formatRetention(r: HistoryRetention): string {
  return r.keep === "days" ? `${r.days}d` : r.keep;
}

/** The sentence a client shows for a retention setting. */
export function describeRetention(r: HistoryRetention): string {
  switch (r.keep) {
    case "all":
      return "This device keeps the history, sealed";
    case "days":
      return `This device keeps ${r.days === 1 ? "1 day" : `${r.days} days`} of history, sealed`;
    case "none":
      return "This device keeps no history";
  }
}

/** How old a message may be before this device drops it; undefined: no limit. */
export function maxAgeMs(r: HistoryRetention): number | undefined {
  return r.keep === "days" ? r.days * DAY_MS : undefined;
}

/** `off`, `1h`, `1d`, `1w` (or a number of seconds among DISAPPEARING_SECONDS); undefined when not one. */
export function parseDisappearing(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  const named: Record<string, number> = { off: 0, "0": 0, "1h": 3_600, "1d": 86_400, "1w": 604_800 };
  return Object.hasOwn(named, t) ? named[t] : undefined;
}

/** Whether `seconds` is a timer every client understands (a control message may carry anything). */
export function isDisappearingSeconds(seconds: unknown): seconds is number {
  return (DISAPPEARING_SECONDS as readonly unknown[]).includes(seconds);
}

/** "off", "1 hour", "1 day", "1 week". */
export function describeDisappearing(seconds: number): string {
  switch (seconds) {
    case 3_600:
      return "1 hour";
    case 86_400:
      return "1 day";
    case 604_800:
      return "1 week";
    default:
      return "off";
  }
}

/** When a message must be gone from this device (ms), or undefined when it may stay. */
export function removalTime(m: ChatMessage, maxAge: number | undefined): number | undefined {
  const byAge = maxAge === undefined ? undefined : m.ts + maxAge;
  if (m.expiresAt === undefined) return byAge;
  return byAge === undefined ? m.expiresAt : Math.min(byAge, m.expiresAt);
}

/**
 * The messages that remain at `now`: those whose removal time has come are dropped. `changed`
 * lists the conversations that lost a message (their lists are new arrays, the rest are the same).
 */
export function pruneMessages(
  messages: Readonly<Record<string, readonly ChatMessage[]>>,
  now: number,
  maxAge: number | undefined,
): { messages: Record<string, readonly ChatMessage[]>; changed: string[] } {
  const out: Record<string, readonly ChatMessage[]> = {};
  const changed: string[] = [];
  for (const [roomId, list] of Object.entries(messages)) {
    const kept = list.filter((m) => {
      const at = removalTime(m, maxAge);
      // A message still being sent stays until it is sent: its time is the local clock's.
      return at === undefined || at > now || m.status === "sending";
    });
    out[roomId] = kept.length === list.length ? list : kept;
    if (kept.length !== list.length) changed.push(roomId);
  }
  return { messages: out, changed };
}

/** The earliest removal time after `now` among all messages, or undefined when none will go. */
export function nextRemoval(
  messages: Readonly<Record<string, readonly ChatMessage[]>>,
  now: number,
  maxAge: number | undefined,
): number | undefined {
  let next: number | undefined;
  for (const list of Object.values(messages)) {
    for (const m of list) {
      const at = removalTime(m, maxAge);
      if (at !== undefined && at > now && (next === undefined || at < next)) next = at;
    }
  }
  return next;
}

/** The longest a timer waits in one go (setTimeout's limit is about 24.8 days). */
const MAX_WAIT_MS = DAY_MS;

/** One timer for the next removal: rescheduled after every sweep, stopped with the model. */
export class RemovalTimer {
  #handle: unknown;
  #stopped = false;

  constructor(
    private readonly timers: Timers,
    private readonly due: () => void,
  ) {}

  /** Runs `due` at `at` (ms, same clock as `now`); none when undefined. Replaces any earlier one. */
  schedule(at: number | undefined, now: number): void {
    if (this.#handle !== undefined) this.timers.clearTimeout(this.#handle);
    this.#handle = undefined;
    if (at === undefined || this.#stopped) return;
    this.#handle = this.timers.setTimeout(
      () => {
        this.#handle = undefined;
        this.due();
      },
      Math.min(Math.max(at - now, 0), MAX_WAIT_MS),
    );
  }

  stop(): void {
    this.schedule(undefined, 0);
    this.#stopped = true;
  }
}
