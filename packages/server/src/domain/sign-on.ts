import type { Bus } from "../bus/bus.js";
import type { AuthContext } from "./accounts.js";
import type { UserId } from "./ids.js";
import { announcePresence, PresenceBatcher, type PresenceChange } from "./presence.js";

export interface SignOnOptions {
  bus: Pick<Bus, "connectionOpened" | "connectionClosed" | "onlineUserIds" | "deliver">;
  /** LIMIT-3: sockets one user may hold across every server that shares the bus. */
  maxConnectionsPerUser: number;
  /** LIMIT-3: `reject` refuses a second socket of an account anywhere in the cluster. */
  duplicateLogin: "allow" | "reject";
  /** Reports a presence announcement that failed (the bus could not be reached). */
  onError: (err: unknown) => void;
  /** PRES-1's window, ms (tests). */
  presenceWindowMs?: number;
}

/** IDENT-5: removed devices, and the session a device signs on with. */
export interface DeviceSessions {
  isRemoved(userId: UserId, deviceId: string): Promise<boolean>;
  endSession(sessionId: AuthContext["sessionId"]): Promise<void>;
  bindSession(sessionId: AuthContext["sessionId"], deviceId: string): Promise<void>;
  /** Reports a session whose device could not be recorded (sign-on goes on). */
  onUnbound(err: unknown): void;
}

/**
 * IDENT-5: whether device `deviceId` may sign on with `auth`'s session. A removed device may
 * not, and its session ends; a live one marks the session as its own, so that removing the
 * device later ends this session too.
 */
export async function signOnDevice(d: DeviceSessions, auth: AuthContext, deviceId: string): Promise<boolean> {
  if (await d.isRemoved(auth.userId, deviceId)) {
    await d.endSession(auth.sessionId);
    return false;
  }
  // Best effort: a full disk must not stop sign-ins (the removed device id is refused anyway).
  await d.bindSession(auth.sessionId, deviceId).catch((err: unknown) => d.onUnbound(err));
  return true;
}

/** Why an authenticated socket is refused (LIMIT-3). */
export type SignOnRefusal = "too_many_connections" | "duplicate_login";

/**
 * Who is connected: admits an authenticated socket under LIMIT-3 and the duplicate-login
 * policy, counts it on the bus, and announces users coming online and going offline (PRES-1)
 * in batched windows. The gateway calls it; it never sees a socket.
 */
export class SignOn {
  readonly #presence: PresenceBatcher;

  constructor(private readonly o: SignOnOptions) {
    this.#presence = new PresenceBatcher({
      ...(o.presenceWindowMs !== undefined ? { windowMs: o.presenceWindowMs } : {}),
      flush: (changes: PresenceChange[]) => {
        announcePresence(o.bus, changes).catch(o.onError);
      },
    });
  }

  /**
   * Counts connection `connectionId` of `auth`'s user; refuses it (and counts it out again) when
   * the user holds too many or the policy allows one. `isGone` says the socket closed meanwhile.
   */
  async admit(
    auth: AuthContext,
    connectionId: string,
    isGone: () => boolean,
  ): Promise<{ admitted: true } | { admitted: false; reason?: SignOnRefusal }> {
    const { count, cameOnline } = await this.o.bus.connectionOpened(auth.userId, connectionId);
    let reason: SignOnRefusal | undefined;
    if (count > this.o.maxConnectionsPerUser) reason = "too_many_connections";
    // The original distributed design: one live socket per account in the whole cluster.
    else if (count > 1 && this.o.duplicateLogin === "reject") reason = "duplicate_login";
    if (reason !== undefined || isGone()) {
      await this.o.bus.connectionClosed(auth.userId, connectionId);
      return reason !== undefined ? { admitted: false, reason } : { admitted: false };
    }
    if (cameOnline) this.#presence.add({ userId: auth.userId, username: auth.username, online: true });
    return { admitted: true };
  }

  /** An admitted connection closed; the user goes offline with their last one anywhere. */
  async left(userId: UserId, username: string, connectionId: string): Promise<void> {
    const { wentOffline } = await this.o.bus.connectionClosed(userId, connectionId);
    if (wentOffline) this.#presence.add({ userId, username, online: false });
  }

  /** Drops pending announcements, for a server that is going away. */
  stop(): void {
    this.#presence.stop();
  }
}
