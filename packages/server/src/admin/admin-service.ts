import { randomBytes } from "node:crypto";
import {
  ADMIN_INVITES_LIST_MAX,
  ADMIN_ROOMS_PAGE_DEFAULT,
  ADMIN_ROOMS_PAGE_MAX,
  type AdminAuditQuery,
  type AdminAuditResponse,
  type AdminBlockView,
  type AdminInviteView,
  type AdminRoomsQuery,
  type AdminRoomsResponse,
  type AdminStatsResponse,
  type AdminUserRef,
  type AdminUserView,
  AUDIT_PAGE_DEFAULT,
  AUDIT_PAGE_MAX,
  type CreateInviteResponse,
  INVITE_TTL_HOURS_DEFAULT,
  type ResetCodeResponse,
} from "@parley/protocol";
import type { AuditEvent, AuditLog } from "../audit/audit-log.js";
import type { Bus } from "../bus/bus.js";
import type { AccountDeletion, DeletedSummary } from "../domain/account-deletion.js";
import type { AccountService } from "../domain/accounts.js";
import { ParleyError } from "../domain/errors.js";
import type { UserId } from "../domain/ids.js";
import type { LoginGuard } from "../domain/login-guard.js";
import type { RecoveryService } from "../domain/recovery.js";
import type { RoomService } from "../domain/rooms.js";
import { newInviteCode } from "../domain/tokens.js";
import type { TotpService } from "../domain/totp.js";
import { parseAddress } from "../lan/classify-address.js";
import type { LiveFigures } from "../ops/live-figures.js";
import type { AuditEntry, AuditFilter } from "../storage/audit-store.js";
import type { Storage } from "../storage/storage.js";

export interface AdminServiceOptions {
  accounts: AccountService;
  /** ACCT-3. */
  deletion: Pick<AccountDeletion, "delete">;
  rooms: Pick<RoomService, "deleteByAdmin">;
  storage: Storage;
  guard: LoginGuard;
  /** Called once per completed admin action; never given an invite code. */
  audit: (event: AuditEvent) => void;
  /** The persisted audit log that GET /api/admin/audit reads. */
  auditLog: Pick<AuditLog, "list">;
  recovery: Pick<RecoveryService, "issueResetCode">;
  /** AUTH-16: clearing a person's TOTP; the user list's `totp` column. */
  totp: Pick<TotpService, "clear" | "enabledAmong" | "required">;
  /** Who is online, for the live figures. */
  bus: Pick<Bus, "onlineUserIds">;
  figures: Pick<LiveFigures, "messagesPerMinute" | "failedLoginsPerHour" | "connections">;
  /** The effective settings, secrets redacted. */
  settings: () => Record<string, string | number | boolean | null>;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * Proof, from `requireAdmin`, that the user was an admin when the request began. The other
 * methods take it instead of a user id, so none of them can run for someone never checked.
 */
export interface AdminActor {
  readonly id: UserId;
  /** Where the request came from, for the audit log. */
  readonly client: AdminClient;
  readonly [checked]: true;
}

export interface AdminClient {
  readonly ip: string | null;
  readonly userAgent: string | null;
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
  async requireAdmin(
    userId: UserId,
    client: AdminClient = { ip: null, userAgent: null },
  ): Promise<AdminActor> {
    const user = await this.#o.storage.findUserById(userId);
    if (!user || user.disabled || !user.isAdmin) throw new ParleyError("admin_required");
    return { id: user.id, client } as AdminActor;
  }

  /** An admin action for the audit log: the admin is the actor, from the request's address. */
  #audit(admin: AdminActor, event: Omit<AuditEvent, "actorId" | "ip" | "userAgent"> & { ip?: string }): void {
    this.#o.audit({
      ...event,
      actorId: admin.id,
      ip: event.ip ?? admin.client.ip,
      userAgent: admin.client.userAgent,
    });
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
    this.#audit(admin, { kind: "room_deleted", details: { roomId: room.id, members } });
  }

  /**
   * A registration code for `maxUses` accounts (1 by default). Only its hash is stored; the code
   * is returned once.
   */
  async createInvite(
    admin: AdminActor,
    ttlHours = INVITE_TTL_HOURS_DEFAULT,
    maxUses = 1,
  ): Promise<CreateInviteResponse> {
    if (!Number.isInteger(ttlHours) || ttlHours < 1) throw new RangeError("ttlHours must be an integer >= 1");
    if (!Number.isInteger(maxUses) || maxUses < 1) throw new RangeError("maxUses must be an integer >= 1");
    const now = this.#o.now();
    const expiresAt = now + ttlHours * HOUR_MS;
    const { code, hash } = newInviteCode();
    const id = randomBytes(8).toString("hex");
    await this.#o.storage.createInvite({
      id,
      codeHash: hash,
      createdBy: admin.id,
      createdAt: now,
      expiresAt,
      maxUses,
    });
    this.#audit(admin, { kind: "invite_created", details: { inviteId: id, expiresAt, maxUses } });
    return { id, code, expiresAt, maxUses };
  }

  /** The newest invites (never their codes), with what is left of each. */
  async listInvites(_admin: AdminActor): Promise<AdminInviteView[]> {
    const now = this.#o.now();
    const invites = await this.#o.storage.listInvites(ADMIN_INVITES_LIST_MAX);
    return invites.map((i) => {
      const status =
        i.revokedAt !== null
          ? "revoked"
          : i.uses >= i.maxUses
            ? "used_up"
            : i.expiresAt <= now
              ? "expired"
              : "active";
      return {
        id: i.id,
        createdBy: i.createdByUsername === null ? null : { id: i.createdBy, username: i.createdByUsername },
        createdAt: i.createdAt,
        expiresAt: i.expiresAt,
        maxUses: i.maxUses,
        uses: i.uses,
        usesLeft: status === "active" ? i.maxUses - i.uses : 0,
        status,
      };
    });
  }

  /** Ends an invite before its time: nobody registers with its code any more. */
  async revokeInvite(admin: AdminActor, inviteId: string): Promise<void> {
    if (!(await this.#o.storage.revokeInvite(inviteId, this.#o.now())))
      throw new ParleyError("invite_not_found");
    this.#audit(admin, { kind: "invite_revoked", details: { inviteId } });
  }

  /** Every room (not direct conversations), oldest first, with its size and owner. */
  async listRooms(_admin: AdminActor, query: AdminRoomsQuery): Promise<AdminRoomsResponse> {
    const limit = query.limit === undefined ? ADMIN_ROOMS_PAGE_DEFAULT : Number(query.limit);
    if (limit < 1 || limit > ADMIN_ROOMS_PAGE_MAX)
      throw new ParleyError("validation_failed", { details: ["/limit"] });
    let after: { createdAt: number; id: string } | undefined;
    if (query.cursor !== undefined) {
      const dot = query.cursor.indexOf(".");
      after = { createdAt: Number(query.cursor.slice(0, dot)), id: query.cursor.slice(dot + 1) };
    }
    const rooms = await this.#o.storage.listAllRooms({ ...(after ? { after } : {}), limit });
    const sizes = await this.#o.storage.countMembers(rooms.map((r) => r.id));
    const owners = new Map<string, AdminUserRef>();
    for (const ownerId of new Set(rooms.map((r) => r.ownerId))) {
      if (ownerId === null) continue;
      const user = await this.#o.storage.findUserById(ownerId);
      owners.set(ownerId, user ? { id: user.id, username: user.username } : null);
    }
    const last = rooms.at(-1);
    return {
      rooms: rooms.map((r) => ({
        id: r.id,
        name: r.name,
        isPublic: r.isPublic,
        members: sizes.get(r.id) ?? 0,
        owner: r.ownerId === null ? null : (owners.get(r.ownerId) ?? null),
        createdAt: r.createdAt,
      })),
      nextCursor: rooms.length === limit && last ? `${last.createdAt}.${last.id}` : null,
    };
  }

  /** The live figures (issue 19), from the counters /metrics exports. */
  async stats(_admin: AdminActor): Promise<AdminStatsResponse> {
    const [connections, online, rooms, blocks] = await Promise.all([
      this.#o.figures.connections(),
      this.#o.bus.onlineUserIds(),
      this.#o.storage.countRooms(),
      this.#o.guard.blockedIps(),
    ]);
    return {
      at: this.#o.now(),
      connections,
      onlinePeople: online.size,
      rooms,
      messagesPerMinute: this.#o.figures.messagesPerMinute(),
      failedLoginsPerHour: this.#o.figures.failedLoginsPerHour(),
      blockedIps: blocks.length,
    };
  }

  /** The effective settings, secrets redacted (as in the `settings_at_start` audit entry). */
  settings(_admin: AdminActor): Record<string, string | number | boolean | null> {
    return this.#o.settings();
  }

  /**
   * Makes an account an admin or takes that away. The last enabled admin cannot be demoted
   * (`last_admin`): the server would need its console to get one back. A disabled account
   * cannot be made an admin (`invalid_target`). Counts from the account's next request
   * (AUTH-10).
   */
  async setRole(admin: AdminActor, userId: UserId, isAdmin: boolean): Promise<void> {
    const user = await this.#o.storage.findUserById(userId);
    if (!user) throw new ParleyError("user_not_found");
    if (user.isAdmin === isAdmin) return;
    if (isAdmin) {
      if (user.disabled) throw new ParleyError("invalid_target");
      await this.#o.storage.setUserAdmin(userId, true);
    } else if (!(await this.#o.storage.demoteAdminUnlessLast(userId))) {
      throw new ParleyError("last_admin");
    }
    this.#audit(admin, {
      kind: "role_changed",
      userId,
      username: user.username,
      details: { role: isAdmin ? "admin" : "member" },
    });
  }

  /**
   * AUTH-11: a one-time reset code for someone who forgot their password, valid 24 hours. The
   * code is returned once and is never in the audit log.
   */
  async issueResetCode(admin: AdminActor, userId: UserId): Promise<ResetCodeResponse> {
    const user = await this.#o.storage.findUserById(userId);
    if (!user) throw new ParleyError("user_not_found");
    const code = await this.#o.recovery.issueResetCode(user.id, admin.id);
    this.#audit(admin, {
      kind: "reset_code_issued",
      userId: user.id,
      username: user.username,
      details: { expiresAt: code.expiresAt },
    });
    return code;
  }

  /** Every account, disabled ones included, in username order. */
  async listUsers(_admin: AdminActor): Promise<AdminUserView[]> {
    const users = await this.#o.storage.listUsers();
    const totp = await this.#o.totp.enabledAmong(users.map((u) => u.id));
    return users.map((u) => ({
      id: u.id,
      username: u.username,
      isAdmin: u.isAdmin,
      disabled: u.disabled,
      totp: totp.has(u.id),
      createdAt: u.createdAt,
    }));
  }

  /**
   * Disabling ends every session of the account and closes its sockets (AUTH-9). An admin may
   * not disable themselves: a server whose only admin did so would need its console to recover.
   */
  async setDisabled(admin: AdminActor, userId: UserId, disabled: boolean): Promise<void> {
    if (disabled && userId === admin.id) throw new ParleyError("invalid_target");
    const user = await this.#o.storage.findUserById(userId);
    if (!user) throw new ParleyError("user_not_found");
    await this.#o.accounts.setDisabled(userId, disabled);
    const kind = disabled ? "account_disabled" : "account_enabled";
    this.#audit(admin, { kind, userId, username: user.username });
  }

  /**
   * ACCT-3: deletes an account as its owner could (the admin's name is on the members' line).
   * An admin deletes their own account with DELETE /api/me, with their password.
   */
  async deleteUser(admin: AdminActor, userId: UserId): Promise<DeletedSummary> {
    if (userId === admin.id) throw new ParleyError("invalid_target");
    const [user, me] = await Promise.all([
      this.#o.storage.findUserById(userId),
      this.#o.storage.findUserById(admin.id),
    ]);
    if (!user) throw new ParleyError("user_not_found");
    const deleted = await this.#o.deletion.delete(user.id, {
      id: admin.id,
      username: me?.username ?? "admin",
    });
    this.#audit(admin, {
      kind: "account_deleted",
      userId: user.id,
      username: user.username,
      details: { by: "admin", rooms: deleted.rooms, devices: deleted.devices, files: deleted.files },
    });
    return deleted;
  }

  /** ACCT-2: ends every session of the account (it may sign in again); returns how many. */
  async signOut(admin: AdminActor, userId: UserId): Promise<number> {
    if (userId === admin.id) throw new ParleyError("invalid_target");
    const user = await this.#o.storage.findUserById(userId);
    if (!user) throw new ParleyError("user_not_found");
    const sessions = await this.#o.accounts.endAllSessions(user.id, "session_ended");
    this.#audit(admin, {
      kind: "session_revoked",
      userId: user.id,
      username: user.username,
      details: { reason: "admin", sessions },
    });
    return sessions;
  }

  /**
   * AUTH-16: turns TOTP off for someone locked out of it (authenticator and recovery codes
   * lost) and ends every session of the account, so whoever holds one signs in again under
   * the new rule; returns how many ended. Not for one's own account: that needs the password
   * and a code (POST /api/totp/disable), or a stolen admin session could strip its own factor.
   */
  async clearTotp(admin: AdminActor, userId: UserId): Promise<number> {
    if (userId === admin.id) throw new ParleyError("invalid_target");
    const user = await this.#o.storage.findUserById(userId);
    if (!user) throw new ParleyError("user_not_found");
    await this.#o.totp.clear(user);
    const sessions = await this.#o.accounts.endAllSessions(user.id, "session_ended");
    this.#audit(admin, {
      kind: "totp_cleared",
      userId: user.id,
      username: user.username,
      details: { sessions, mustEnrol: this.#o.totp.required(user) },
    });
    return sessions;
  }

  /** IPs this server has blocked (AUTH-3, or an admin), with the milliseconds left and why. */
  async listBlocks(_admin: AdminActor): Promise<AdminBlockView[]> {
    const blocks = await this.#o.guard.blockedIps();
    return blocks
      .map((b) => ({
        ...b,
        blockedBy: b.blockedBy as AdminBlockView["blockedBy"],
        retryAfterMs: Math.ceil(b.retryAfterMs),
      }))
      .sort((a, b) => a.ip.localeCompare(b.ip));
  }

  /**
   * Blocks an address's logins for `minutes` (someone guessing slowly enough to stay under
   * AUTH-3's threshold, a machine that must not sign in). Every form the address may arrive in
   * is blocked (IPv4 and its IPv4-mapped IPv6 form). Not the admin's own address
   * (`invalid_target`): it would lock the admin out. The note is kept with the block and shown
   * in the list, never written to the log or the audit entry (it is free text).
   */
  async block(admin: AdminActor, ip: string, minutes: number, note: string | undefined): Promise<string> {
    const target = parseAddress(ip);
    if (target === undefined) throw new ParleyError("validation_failed", { details: ["/ip"] });
    const own = admin.client.ip === null ? undefined : parseAddress(admin.client.ip);
    if (own !== undefined && own.toNormalizedString() === target.toNormalizedString())
      throw new ParleyError("invalid_target");
    const listed = target.toString();
    const keys = target.kind() === "ipv4" ? [listed, `::ffff:${listed}`] : [listed];
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point.
    const clean = (note ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").trim();
    const me = await this.#o.storage.findUserById(admin.id);
    await this.#o.guard.blockByAdmin(
      listed,
      keys,
      minutes * 60,
      { id: admin.id, username: me?.username ?? "admin" },
      clean === "" ? null : clean,
    );
    this.#audit(admin, {
      kind: "ip_blocked",
      ip: listed,
      details: { by: "admin", seconds: minutes * 60, adminIp: admin.client.ip },
    });
    return listed;
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
    this.#audit(admin, { kind: "ip_unblocked", ip, details: { by: "admin", adminIp: admin.client.ip } });
  }

  /**
   * AUDIT-2: one page of the audit log, newest first. `user` is an id or a username (an id of
   * an account deleted since still matches its entries).
   */
  async auditPage(_admin: AdminActor, query: AdminAuditQuery): Promise<AdminAuditResponse> {
    const filter = await this.#auditFilter(query);
    const entries = await this.#o.auditLog.list(filter);
    const last = entries.at(-1);
    return { entries, nextCursor: entries.length === filter.limit && last ? last.id : null };
  }

  /**
   * AUDIT-3: every entry the query matches (from `cursor` on, at most `max`), a page at a time,
   * newest first. The export itself is audited.
   */
  async *auditExport(admin: AdminActor, query: AdminAuditQuery, max: number): AsyncGenerator<AuditEntry> {
    const filter = { ...(await this.#auditFilter(query)), limit: AUDIT_PAGE_MAX };
    this.#audit(admin, { kind: "audit_exported", details: { kind: query.kind ?? null } });
    let left = max;
    while (left > 0) {
      const page = await this.#o.auditLog.list({ ...filter, limit: Math.min(AUDIT_PAGE_MAX, left) });
      yield* page;
      left -= page.length;
      const last = page.at(-1);
      if (page.length < AUDIT_PAGE_MAX || !last) return;
      filter.before = last.id;
    }
  }

  async #auditFilter(q: AdminAuditQuery): Promise<AuditFilter> {
    const limit = q.limit === undefined ? AUDIT_PAGE_DEFAULT : Number(q.limit);
    if (limit < 1 || limit > AUDIT_PAGE_MAX)
      throw new ParleyError("validation_failed", { details: ["/limit"] });
    const from = q.from === undefined ? undefined : Number(q.from);
    const to = q.to === undefined ? undefined : Number(q.to);
    if (from !== undefined && to !== undefined && from >= to)
      throw new ParleyError("validation_failed", { details: ["/to"] });
    if (q.ip !== undefined && parseAddress(q.ip) === undefined)
      throw new ParleyError("validation_failed", { details: ["/ip"] });
    let userId: string | undefined;
    if (q.user !== undefined) {
      const user =
        (await this.#o.storage.findUserById(q.user as UserId)) ??
        (await this.#o.storage.findUserByUsername(q.user));
      userId = user?.id ?? q.user;
    }
    return {
      limit,
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(q.kind !== undefined ? { kind: q.kind } : {}),
      ...(userId !== undefined ? { userId } : {}),
      ...(q.ip !== undefined ? { ip: q.ip } : {}),
      ...(q.cursor !== undefined ? { before: q.cursor } : {}),
    };
  }
}
