import { type AdminUserView, type CreateInviteResponse, INVITE_TTL_HOURS_DEFAULT } from "@parley/protocol";
import type { AccountService } from "../domain/accounts.js";
import { ParleyError } from "../domain/errors.js";
import type { UserId } from "../domain/ids.js";
import type { LoginGuard } from "../domain/login-guard.js";
import type { RoomService } from "../domain/rooms.js";
import { newInviteCode } from "../domain/tokens.js";
import { parseAddress } from "../lan/classify-address.js";
import type { Storage } from "../storage/storage.js";

export interface AdminServiceOptions {
  accounts: AccountService;
  rooms: Pick<RoomService, "deleteByAdmin">;
  storage: Storage;
  guard: LoginGuard;
  /** Called once per completed admin action; never given an invite code. */
  audit: (event: AdminAuditEvent) => void;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

export type AdminAuditEvent =
  | { event: "admin_invite_created"; adminId: UserId; expiresAt: number }
  | { event: "admin_user_disabled"; adminId: UserId; userId: UserId }
  | { event: "admin_user_enabled"; adminId: UserId; userId: UserId }
  | { event: "admin_ip_unblocked"; adminId: UserId; ip: string }
  | { event: "admin_room_deleted"; adminId: UserId; roomId: string; members: number };

/**
 * Proof, from `requireAdmin`, that the user was an admin when the request began. The other
 * methods take it instead of a user id, so none of them can run for someone never checked.
 */
export interface AdminActor {
  readonly id: UserId;
  readonly [checked]: true;
}
declare const checked: unique symbol;

const HOUR_MS = 60 * 60 * 1000;

/**
 * What an admin may do: issue invite codes, see and disable accounts, lift IP blocks.
 * Admin status is read from the database on every request (`requireAdmin`), never from the
 * token's `adm` claim, so a demotion or a disable counts from the next request even though the
 * access token the user holds still says otherwise for up to 15 minutes.
 */
export class AdminService {
  readonly #o: Required<AdminServiceOptions>;

  constructor(options: AdminServiceOptions) {
    this.#o = { now: Date.now, ...options };
  }

  /** Throws `admin_required` unless the user exists, is enabled and is an admin right now. */
  async requireAdmin(userId: UserId): Promise<AdminActor> {
    const user = await this.#o.storage.findUserById(userId);
    if (!user || user.disabled || !user.isAdmin) throw new ParleyError("admin_required");
    return { id: user.id } as AdminActor;
  }

  /**
   * Deletes a room for everyone (directory spam, a room nobody should be in): its members are
   * told (ROOM-13). The audit line has the room id and how many members it had, not its name.
   */
  async deleteRoom(admin: AdminActor, roomId: string): Promise<void> {
    const user = await this.#o.storage.findUserById(admin.id);
    const { room, members } = await this.#o.rooms.deleteByAdmin(
      { userId: admin.id, username: user?.username ?? "admin" },
      roomId,
    );
    this.#o.audit({ event: "admin_room_deleted", adminId: admin.id, roomId: room.id, members });
  }

  /** A single-use registration code. Only its hash is stored; the code is returned once. */
  async createInvite(admin: AdminActor, ttlHours = INVITE_TTL_HOURS_DEFAULT): Promise<CreateInviteResponse> {
    if (!Number.isInteger(ttlHours) || ttlHours < 1) throw new RangeError("ttlHours must be an integer >= 1");
    const now = this.#o.now();
    const expiresAt = now + ttlHours * HOUR_MS;
    const { code, hash } = newInviteCode();
    await this.#o.storage.createInvite({ codeHash: hash, createdBy: admin.id, createdAt: now, expiresAt });
    this.#o.audit({ event: "admin_invite_created", adminId: admin.id, expiresAt });
    return { code, expiresAt };
  }

  /** Every account, disabled ones included, in username order. */
  async listUsers(_admin: AdminActor): Promise<AdminUserView[]> {
    const users = await this.#o.storage.listUsers();
    return users.map((u) => ({
      id: u.id,
      username: u.username,
      isAdmin: u.isAdmin,
      disabled: u.disabled,
      createdAt: u.createdAt,
    }));
  }

  /**
   * Disabling ends every session of the account and closes its sockets (AUTH-9). An admin may
   * not disable themselves: a server whose only admin did so would need its console to recover.
   */
  async setDisabled(admin: AdminActor, userId: UserId, disabled: boolean): Promise<void> {
    if (disabled && userId === admin.id) throw new ParleyError("invalid_target");
    if (!(await this.#o.storage.findUserById(userId))) throw new ParleyError("user_not_found");
    await this.#o.accounts.setDisabled(userId, disabled);
    const event = disabled ? "admin_user_disabled" : "admin_user_enabled";
    this.#o.audit({ event, adminId: admin.id, userId });
  }

  /** IPs this server has blocked (AUTH-3), with the milliseconds left. */
  async listBlocks(_admin: AdminActor): Promise<{ ip: string; retryAfterMs: number }[]> {
    const blocks = await this.#o.guard.blockedIps();
    return blocks
      .map((b) => ({ ip: b.ip, retryAfterMs: Math.ceil(b.retryAfterMs) }))
      .sort((a, b) => a.ip.localeCompare(b.ip));
  }

  /**
   * Lifts the block on `ip` (an address as `parseAddress` reads it). A listed block written
   * differently for the same address, such as the IPv4-mapped form a dual-stack socket reports,
   * is lifted too. Throws `not_blocked` when nothing was.
   */
  async unblock(admin: AdminActor, ip: string): Promise<void> {
    const target = parseAddress(ip);
    if (target === undefined) throw new TypeError("unblock needs an IP address");
    const same = target.toNormalizedString();
    const keys = new Set([ip]);
    for (const b of await this.#o.guard.blockedIps()) {
      if (parseAddress(b.ip)?.toNormalizedString() === same) keys.add(b.ip);
    }
    let lifted = false;
    for (const key of keys) {
      if (await this.#o.guard.unblock(key)) lifted = true;
    }
    if (!lifted) throw new ParleyError("not_blocked");
    this.#o.audit({ event: "admin_ip_unblocked", adminId: admin.id, ip });
  }
}
