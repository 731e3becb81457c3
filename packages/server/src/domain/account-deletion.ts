import type { AccountDeletedResponse } from "@parley/protocol";
import type { Storage } from "../storage/storage.js";
import type { AccountService } from "./accounts.js";
import { ParleyError } from "./errors.js";
import type { FileService } from "./files.js";
import type { UserId } from "./ids.js";
import type { RoomService } from "./rooms.js";

export interface AccountDeletionOptions {
  storage: Storage;
  accounts: Pick<AccountService, "endAllSessions">;
  rooms: Pick<RoomService, "removeAccount">;
  files: Pick<FileService, "removeAllOf">;
  now?: () => number;
}

export type DeletedSummary = AccountDeletedResponse["deleted"];

/**
 * ACCT-3: deleting an account, by the person (with their password) or by an admin. It spans
 * accounts, rooms and files, so it lives apart from each: the account is disabled first (no new
 * sign-in or request gets through while the rest runs), its sessions end (sockets close with
 * `account_deleted`), it leaves every room as a member who is gone (ROOM-20 hands its rooms
 * on), its files go, and then its records and devices, with the username retired (ACCT-5).
 */
export class AccountDeletion {
  readonly #now: () => number;

  constructor(private readonly o: AccountDeletionOptions) {
    this.#now = o.now ?? Date.now;
  }

  async delete(userId: UserId, by: { id: UserId; username: string } | null): Promise<DeletedSummary> {
    const user = await this.o.storage.findUserById(userId);
    if (!user) throw new ParleyError("user_not_found");
    await this.o.storage.setUserDisabled(user.id, true);
    await this.o.accounts.endAllSessions(user.id, "account_deleted");
    const rooms = await this.o.rooms.removeAccount({ id: user.id, username: user.username }, by);
    const files = await this.o.files.removeAllOf(user.id);
    const counts = await this.o.storage.deleteUser(user.id, this.#now());
    if (!counts) throw new ParleyError("user_not_found");
    // Sessions ended above are deleted now; a session that was already over counts as one too.
    return {
      rooms: rooms.rooms,
      emptyRoomsDeleted: rooms.emptyRoomsDeleted,
      roomsHandedOver: rooms.roomsHandedOver,
      devices: counts.devices,
      keyPackages: counts.keyPackages,
      sessions: counts.sessions,
      files,
      invites: counts.invites,
      identityKey: counts.identityKey,
    };
  }
}
