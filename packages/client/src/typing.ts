/** Typing indicators as both clients send and show them (PRES-2), lapsing when not refreshed. */
import type { TypingEvent } from "./events.js";
import { defaultTimers, type Timers } from "./platform.js";

/**
 * Typing indicators (PRES-2) as both clients show and send them. The server relays `typing`
 * frames and keeps nothing, so a client that stops sending (closed tab, lost link) never says
 * it stopped: an indicator lapses when it is not refreshed, and the typist refreshes it while
 * typing goes on.
 */

/** How long an indicator lasts without a refresh from the typist. */
export const TYPING_SHOWN_MS = 6_000;
/** How often a typist repeats "typing" while typing goes on. */
export const TYPING_REPEAT_MS = 3_000;
/** A pause after which a typist says it stopped. */
export const TYPING_IDLE_MS = 4_000;

export interface Typist {
  readonly userId: string;
  readonly username: string;
}

/** Who is typing in which room, from the `typing` events; calls `onChange` with a room's typists. */
export class TypingRoster {
  readonly #rooms = new Map<string, Map<string, { username: string; timer: unknown }>>();
  readonly #timers: Timers;
  readonly #shownMs: number;

  constructor(
    private readonly onChange: (roomId: string, typists: readonly Typist[]) => void,
    options: { timers?: Timers; shownMs?: number } = {},
  ) {
    this.#timers = options.timers ?? defaultTimers;
    this.#shownMs = options.shownMs ?? TYPING_SHOWN_MS;
  }

  /** Applies one event (events about this user should be left out by the caller). */
  update(e: TypingEvent): void {
    let room = this.#rooms.get(e.roomId);
    const previous = room?.get(e.userId);
    if (previous) this.#timers.clearTimeout(previous.timer);
    if (e.active) {
      if (!room) {
        room = new Map();
        this.#rooms.set(e.roomId, room);
      }
      const timer = this.#timers.setTimeout(() => this.update({ ...e, active: false }), this.#shownMs);
      room.set(e.userId, { username: e.username, timer });
    } else {
      if (!previous || !room) return;
      room.delete(e.userId);
      if (room.size === 0) this.#rooms.delete(e.roomId);
    }
    this.onChange(e.roomId, this.typists(e.roomId));
  }

  /** A room's typists, in the order they started. */
  typists(roomId: string): Typist[] {
    return [...(this.#rooms.get(roomId) ?? [])].map(([userId, t]) => ({ userId, username: t.username }));
  }

  /** Forgets everyone (sign-out), without calling `onChange`. */
  clear(): void {
    for (const room of this.#rooms.values())
      for (const t of room.values()) this.#timers.clearTimeout(t.timer);
    this.#rooms.clear();
  }
}

/**
 * Says "typing" for this user: at once, again every TYPING_REPEAT_MS while typing goes on, and
 * "stopped" after a pause of TYPING_IDLE_MS, on `stop()` (a message sent, the input cleared) or
 * when typing moves to another room.
 */
export class TypingNotifier {
  readonly #timers: Timers;
  readonly #now: () => number;
  #sent: { roomId: string; at: number } | undefined;
  #idle: unknown;

  constructor(
    private readonly send: (roomId: string, active: boolean) => void,
    options: { timers?: Timers; now?: () => number } = {},
  ) {
    this.#timers = options.timers ?? defaultTimers;
    this.#now = options.now ?? (() => Date.now());
  }

  /** Call on every keystroke that leaves text in the input of `roomId`. */
  typed(roomId: string): void {
    const now = this.#now();
    const sent = this.#sent;
    if (sent === undefined || sent.roomId !== roomId || now - sent.at >= TYPING_REPEAT_MS) {
      if (sent !== undefined && sent.roomId !== roomId) this.send(sent.roomId, false);
      this.send(roomId, true);
      this.#sent = { roomId, at: now };
    }
    if (this.#idle !== undefined) this.#timers.clearTimeout(this.#idle);
    this.#idle = this.#timers.setTimeout(() => this.stop(), TYPING_IDLE_MS);
  }

  /** Says "stopped" if "typing" was said. */
  stop(): void {
    if (this.#idle !== undefined) this.#timers.clearTimeout(this.#idle);
    this.#idle = undefined;
    const sent = this.#sent;
    this.#sent = undefined;
    if (sent !== undefined) this.send(sent.roomId, false);
  }
}
