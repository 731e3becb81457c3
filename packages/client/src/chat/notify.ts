/**
 * Issue 18.5: when a message alerts the person (a system notification and a sound in the
 * browser, the bell on a terminal). Pure: the clients bring what only they know (is the page
 * visible, which conversation is open).
 */

import type { RoomView } from "@parley/protocol";
import type { ChatMessage, ChatSnapshot } from "./types.js";

/**
 * Per conversation, on this device: `all` messages alert, `mentions` only those that name this
 * user (CHAT-5), `off` (muted) none, mentions included: muting is the person's explicit choice,
 * and the mention still shows marked and counted as unread.
 */
export type NotifyLevel = "all" | "mentions" | "off";

export const NOTIFY_LEVELS: readonly NotifyLevel[] = ["all", "mentions", "off"];

export function isNotifyLevel(value: unknown): value is NotifyLevel {
  return value === "all" || value === "mentions" || value === "off";
}

/**
 * Direct conversations: `all` (every message is addressed to this person). Rooms: `mentions`,
 * as in most team messengers: a busy room on an office floor should not ring on every line,
 * and a person who wants that says `all` for that room.
 */
export function defaultNotifyLevel(room: Pick<RoomView, "kind"> | undefined): NotifyLevel {
  return room?.kind === "direct" ? "all" : "mentions";
}

/** A conversation's level in a snapshot (by its canonical id): the one chosen, or its default. */
export function notifyLevelIn(snapshot: Pick<ChatSnapshot, "notify" | "rooms">, roomId: string): NotifyLevel {
  return snapshot.notify[roomId] ?? defaultNotifyLevel(snapshot.rooms.find((r) => r.id === roomId));
}

/** What decides whether one arriving message alerts. */
export interface AlertInput {
  readonly level: NotifyLevel;
  /** The message names this user (its `mentions` hold their id). */
  readonly mentioned: boolean;
  /** The page (or terminal) is in front of the person: a visible page; a terminal always. */
  readonly visible: boolean;
  /** The conversation it arrived in is the one open. */
  readonly open: boolean;
}

/**
 * Whether a message alerts: never one the person is looking at (visible and open), never in a
 * muted conversation; in `mentions` only when it names them, and in `all` always. Direct
 * messages ring because a direct conversation's level is `all` unless the person lowered it.
 */
export function shouldAlert(input: AlertInput): boolean {
  if (input.visible && input.open) return false;
  switch (input.level) {
    case "off":
      return false;
    case "mentions":
      return input.mentioned;
    case "all":
      return true;
  }
}

/** Whether a message is one that could alert at all: from someone else, a real line, not deleted. */
export function isAlertable(m: ChatMessage): boolean {
  return !m.own && m.system !== true && m.deleted !== true;
}

/** Whether `m` names the user `selfId` with @ (CHAT-5). */
export function mentionsUser(m: Pick<ChatMessage, "mentions">, selfId: string | undefined): boolean {
  return selfId !== undefined && m.mentions?.includes(selfId) === true;
}

/**
 * The unread count a badge shows (the page title, the app icon): the unread messages of every
 * conversation that is not muted.
 */
export function badgeCount(
  unread: Readonly<Record<string, number>>,
  levelOf: (roomId: string) => NotifyLevel,
): number {
  let n = 0;
  for (const [roomId, count] of Object.entries(unread)) if (levelOf(roomId) !== "off") n += count;
  return n;
}
