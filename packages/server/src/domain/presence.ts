import { PRESENCE_BATCH_MAX, type ServerFrameOf } from "@parley/protocol";
import type { Bus } from "../bus/bus.js";
import { encodeFrame } from "./encode.js";
import type { UserId } from "./ids.js";

/** PRES-1: changes wait at most this long, so that a burst of them goes out together. */
export const PRESENCE_WINDOW_MS = 50;

export interface PresenceChange {
  userId: UserId;
  username: string;
  online: boolean;
}

export type PresenceFrame = ServerFrameOf<"presence"> | ServerFrameOf<"presence.batch">;

/**
 * The frames that announce `changes`: one `presence` frame for a single change (what a quiet
 * server sends), else `presence.batch` frames of at most PRESENCE_BATCH_MAX users each.
 */
export function presenceFrames(changes: readonly PresenceChange[]): PresenceFrame[] {
  const [only] = changes;
  if (changes.length === 1 && only) {
    return [{ type: "presence", userId: only.userId, username: only.username, online: only.online }];
  }
  const out: PresenceFrame[] = [];
  for (let i = 0; i < changes.length; i += PRESENCE_BATCH_MAX) {
    const users = changes
      .slice(i, i + PRESENCE_BATCH_MAX)
      .map((c) => ({ userId: c.userId, username: c.username, online: c.online }));
    out.push({ type: "presence.batch", users });
  }
  return out;
}

/**
 * PRES-1: `changes` to every online user of the cluster (and to the users who went offline,
 * whose other sockets may still be closing), in as few frames as the batch size allows.
 */
export async function announcePresence(
  bus: Pick<Bus, "onlineUserIds" | "deliver">,
  changes: readonly PresenceChange[],
): Promise<void> {
  if (changes.length === 0) return;
  const everyone = [...(await bus.onlineUserIds())];
  for (const c of changes) if (!c.online) everyone.push(c.userId);
  for (const frame of presenceFrames(changes)) bus.deliver(everyone, encodeFrame(frame));
}

export interface PresenceBatcherOptions {
  /** Called once per window with every user whose presence changed in it, latest state each. */
  flush: (changes: PresenceChange[]) => void;
  windowMs?: number;
  timers?: {
    setTimeout: (f: () => void, ms: number) => unknown;
    clearTimeout: (t: unknown) => void;
  };
}

/**
 * Gathers presence changes for a short window and hands them over together. Every change goes
 * to every online user (PRES-1), so when many users connect at once (a server restart, the
 * start of the day) one frame per user and recipient would cost users x users sends; a window
 * turns that into one frame per recipient per window. A user who changed twice in a window is
 * announced once, in the latest state.
 */
export class PresenceBatcher {
  readonly #pending = new Map<UserId, PresenceChange>();
  readonly #windowMs: number;
  readonly #timers: NonNullable<PresenceBatcherOptions["timers"]>;
  #timer: unknown;

  constructor(private readonly o: PresenceBatcherOptions) {
    this.#windowMs = o.windowMs ?? PRESENCE_WINDOW_MS;
    this.#timers = o.timers ?? {
      setTimeout: (f, ms) => setTimeout(f, ms),
      clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
    };
  }

  add(change: PresenceChange): void {
    this.#pending.delete(change.userId); // the latest change goes last
    this.#pending.set(change.userId, change);
    this.#timer ??= this.#timers.setTimeout(() => this.flushNow(), this.#windowMs);
  }

  /** Hands over what is pending now (also used on shutdown). */
  flushNow(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const changes = [...this.#pending.values()];
    this.#pending.clear();
    this.o.flush(changes);
  }

  /** Drops what is pending, for a server that is going away. */
  stop(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }
}
