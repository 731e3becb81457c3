import { MAX_BLOCKED_USERS } from "@parley/protocol";
import type { Storage } from "../storage/storage.js";
import type { AuthContext } from "./accounts.js";
import { ParleyError } from "./errors.js";
import type { UserId } from "./ids.js";

/**
 * ACCT-6: a person's block list. Blocking drops the person's invitations already waiting; from
 * then on their room invitations and direct conversations are refused with `invite_refused` (RoomService); the blocker is never told of the attempt,
 * and the blocked person is never told they are blocked: the code says only that this
 * invitation cannot be made.
 */
export class BlockService {
  readonly #now: () => number;

  constructor(
    private readonly storage: Storage,
    now: () => number = Date.now,
  ) {
    this.#now = now;
  }

  async block(auth: AuthContext, userId: UserId): Promise<void> {
    if (userId === auth.userId) throw new ParleyError("invalid_target");
    const target = await this.storage.findUserById(userId);
    if (!target) throw new ParleyError("user_not_found");
    if (await this.storage.isBlocked(auth.userId, userId)) return;
    if ((await this.storage.countBlocks(auth.userId)) >= MAX_BLOCKED_USERS)
      throw new ParleyError("too_many_blocks");
    await this.storage.addBlock(auth.userId, userId, this.#now());
    // Their invitations already waiting go too, silently: a decline would tell them.
    for (const invite of await this.storage.listRoomInvitesOf(auth.userId)) {
      if (invite.invitedBy === userId) await this.storage.removeRoomInvite(invite.roomId, auth.userId);
    }
  }

  /** Idempotent: unblocking someone not blocked changes nothing. */
  async unblock(auth: AuthContext, userId: UserId): Promise<void> {
    await this.storage.removeBlock(auth.userId, userId);
  }

  async list(auth: AuthContext): Promise<{ id: string; username: string; since: number }[]> {
    const blocks = await this.storage.listBlocks(auth.userId);
    return blocks.map((b) => ({ id: b.userId, username: b.username, since: b.createdAt }));
  }
}
