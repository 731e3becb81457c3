import { type ExpressionBuilder, type Kysely, sql } from "kysely";
import { DatabaseBlobStore } from "../blobs/database-blob-store.js";
import type { RoomId, SessionId, UserId } from "../domain/ids.js";
import { KyselyAuditStore } from "./audit-store.js";
import type { Database, Flag } from "./database.js";
import { KyselyDeliveryStore } from "./delivery-store.js";
import { KyselyFileStore } from "./file-store.js";
import { KyselyOfflineQueueStore } from "./offline-queue-store.js";
import { KyselyRecoveryCodeStore } from "./recovery-code-store.js";
import { toFlag, toMember, toRefreshToken, toRoom, toRoomInvite, toSession, toUser } from "./rows.js";
import type {
  DeletedUserCounts,
  InviteRecord,
  MemberRecord,
  MemberRole,
  NewInvite,
  NewRefreshToken,
  NewRoom,
  NewSession,
  NewUser,
  PublicRoomsPage,
  RefreshTokenRecord,
  RoomBanRecord,
  RoomInviteRecord,
  RoomPatch,
  RoomRecord,
  SessionDetails,
  SessionRecord,
  Storage,
  UserRecord,
} from "./storage.js";
import { StorageConflictError } from "./storage.js";
import { KyselyTotpStore } from "./totp-store.js";
import { rejectingConflicts } from "./unique-violation.js";
import { usernameKey } from "./username-key.js";

/**
 * The Storage for both SQLite and PostgreSQL. Every query is written once in the subset both
 * databases share, so the one contract suite that passes on each vouches for this one class.
 * Operations that must be race-free are single conditional statements (UPDATE ... WHERE
 * used_at IS NULL) judged by their affected-row count, never read-then-write.
 */
export class KyselyStorage implements Storage {
  readonly #db: Kysely<Database>;
  readonly delivery: KyselyDeliveryStore;
  readonly offlineQueue: KyselyOfflineQueueStore;
  readonly files: KyselyFileStore;
  readonly fileBlobs: DatabaseBlobStore;
  readonly audit: KyselyAuditStore;
  readonly recovery: KyselyRecoveryCodeStore;
  readonly totp: KyselyTotpStore;
  #closing: Promise<void> | undefined;

  constructor(
    db: Kysely<Database>,
    readonly dialect: Storage["dialect"],
  ) {
    this.#db = db;
    this.delivery = new KyselyDeliveryStore(db, dialect);
    this.offlineQueue = new KyselyOfflineQueueStore(db);
    this.files = new KyselyFileStore(db);
    this.fileBlobs = new DatabaseBlobStore(db);
    this.audit = new KyselyAuditStore(db);
    this.recovery = new KyselyRecoveryCodeStore(db);
    this.totp = new KyselyTotpStore(db);
  }

  // ---- users ----

  async createUser(user: NewUser): Promise<UserRecord> {
    // ACCT-5: a deleted account's name is never handed to someone else.
    const retired = await this.#db
      .selectFrom("retired_usernames")
      .select("username_key")
      .where("username_key", "=", usernameKey(user.username))
      .executeTakeFirst();
    if (retired) throw new StorageConflictError("retired_usernames_pkey");
    await rejectingConflicts(
      this.#db
        .insertInto("users")
        .values({
          id: user.id,
          username: user.username,
          username_key: usernameKey(user.username),
          password_hash: user.passwordHash,
          is_admin: toFlag(user.isAdmin),
          disabled: 0,
          created_at: user.createdAt,
        })
        .execute(),
    );
    const { id, username, passwordHash, isAdmin, createdAt } = user;
    return { id, username, passwordHash, isAdmin, createdAt, disabled: false };
  }

  async findUserById(id: UserId): Promise<UserRecord | undefined> {
    const row = await this.#db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toUser(row);
  }

  async findUserByUsername(username: string): Promise<UserRecord | undefined> {
    const row = await this.#db
      .selectFrom("users")
      .selectAll()
      .where("username_key", "=", usernameKey(username))
      .executeTakeFirst();
    return row && toUser(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.#db.selectFrom("users").selectAll().orderBy("username_key").execute();
    return rows.map(toUser);
  }

  async countUsers(): Promise<number> {
    const row = await this.#db
      .selectFrom("users")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async updatePasswordHash(id: UserId, passwordHash: string): Promise<void> {
    await this.#db.updateTable("users").set({ password_hash: passwordHash }).where("id", "=", id).execute();
  }

  async setUserDisabled(id: UserId, disabled: boolean): Promise<void> {
    await this.#db
      .updateTable("users")
      .set({ disabled: toFlag(disabled) })
      .where("id", "=", id)
      .execute();
  }

  async setUserAdmin(id: UserId, isAdmin: boolean): Promise<void> {
    await this.#db
      .updateTable("users")
      .set({ is_admin: toFlag(isAdmin) })
      .where("id", "=", id)
      .execute();
  }

  async demoteAdminUnlessLast(id: UserId): Promise<boolean> {
    // One statement, so two admins demoting each other at once cannot both succeed on SQLite;
    // on PostgreSQL the subquery sees the snapshot of the statement's start.
    const result = await this.#db
      .updateTable("users")
      .set({ is_admin: 0 })
      .where("id", "=", id)
      .where("is_admin", "=", 1)
      .where(
        (eb) =>
          eb
            .selectFrom("users as other")
            .select((o) => o.fn.countAll<number>().as("n"))
            .where("other.is_admin", "=", 1)
            .where("other.disabled", "=", 0)
            .where("other.id", "!=", id),
        ">",
        0,
      )
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  // ---- sessions and refresh tokens ----

  async createSession(session: NewSession): Promise<SessionRecord> {
    await rejectingConflicts(
      this.#db
        .insertInto("sessions")
        .values({
          id: session.id,
          user_id: session.userId,
          created_at: session.createdAt,
          expires_at: session.expiresAt,
          revoked_at: null,
          user_agent: session.userAgent ?? null,
          ip: session.ip ?? null,
          last_seen_at: session.createdAt,
        })
        .execute(),
    );
    const { id, userId, createdAt, expiresAt } = session;
    return { id, userId, createdAt, expiresAt, revokedAt: null };
  }

  async findSession(id: SessionId): Promise<SessionRecord | undefined> {
    const row = await this.#db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toSession(row);
  }

  async revokeSession(id: SessionId, at: number): Promise<boolean> {
    const result = await this.#db
      .updateTable("sessions")
      .set({ revoked_at: at })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async revokeUserSessions(userId: UserId, at: number, keep?: SessionId): Promise<SessionId[]> {
    let query = this.#db
      .updateTable("sessions")
      .set({ revoked_at: at })
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null);
    if (keep !== undefined) query = query.where("id", "!=", keep);
    const rows = await query.returning("id").execute();
    return rows.map((r) => r.id);
  }

  async listLiveSessions(userId: UserId, now: number): Promise<SessionDetails[]> {
    const rows = await this.#db
      .selectFrom("sessions")
      .selectAll()
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", now)
      .orderBy("created_at", "desc")
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      ...toSession(r),
      deviceId: r.device_id,
      userAgent: r.user_agent,
      ip: r.ip,
      lastSeenAt: r.last_seen_at === null ? null : Number(r.last_seen_at),
    }));
  }

  async touchSession(id: SessionId, at: number, ip: string | null): Promise<void> {
    await this.#db
      .updateTable("sessions")
      .set({ last_seen_at: at, ...(ip !== null ? { ip } : {}) })
      .where("id", "=", id)
      .execute();
  }

  async bindSessionDevice(id: SessionId, deviceId: string): Promise<void> {
    await this.#db
      .updateTable("sessions")
      .set({ device_id: deviceId })
      .where("id", "=", id)
      .where((eb) => eb.or([eb("device_id", "is", null), eb("device_id", "!=", deviceId)]))
      .execute();
  }

  async revokeDeviceSessions(userId: UserId, deviceId: string, at: number): Promise<SessionId[]> {
    const rows = await this.#db
      .updateTable("sessions")
      .set({ revoked_at: at })
      .where("user_id", "=", userId)
      .where("device_id", "=", deviceId)
      .where("revoked_at", "is", null)
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  }

  async insertRefreshToken(token: NewRefreshToken): Promise<void> {
    await rejectingConflicts(
      this.#db
        .insertInto("refresh_tokens")
        .values({
          token_hash: token.tokenHash,
          session_id: token.sessionId,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          used_at: null,
        })
        .execute(),
    );
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.#db
      .selectFrom("refresh_tokens")
      .selectAll()
      .where("token_hash", "=", tokenHash)
      .executeTakeFirst();
    return row && toRefreshToken(row);
  }

  async markRefreshTokenUsed(tokenHash: string, at: number): Promise<boolean> {
    const result = await this.#db
      .updateTable("refresh_tokens")
      .set({ used_at: at })
      .where("token_hash", "=", tokenHash)
      .where("used_at", "is", null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async purgeExpiredRefreshTokens(before: number): Promise<number> {
    const result = await this.#db
      .deleteFrom("refresh_tokens")
      .where("expires_at", "<", before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ---- registration invites ----

  async createInvite(invite: NewInvite): Promise<void> {
    await rejectingConflicts(
      this.#db
        .insertInto("invites")
        .values({
          id: invite.id,
          code_hash: invite.codeHash,
          created_by: invite.createdBy,
          created_at: invite.createdAt,
          expires_at: invite.expiresAt,
          used_at: null,
          used_by: null,
          max_uses: invite.maxUses ?? 1,
          uses: 0,
          revoked_at: null,
        })
        .execute(),
    );
  }

  async consumeInvite(codeHash: string, userId: UserId, at: number): Promise<boolean> {
    const result = await this.#db
      .updateTable("invites")
      .set((eb) => ({ used_at: at, used_by: userId, uses: eb("uses", "+", 1) }))
      .where("code_hash", "=", codeHash)
      .where("revoked_at", "is", null)
      .where((eb) => eb("uses", "<", eb.ref("max_uses")))
      .where("expires_at", ">", at)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async listInvites(limit: number): Promise<InviteRecord[]> {
    const rows = await this.#db
      .selectFrom("invites")
      .leftJoin("users", "users.id", "invites.created_by")
      .select([
        "invites.id as id",
        "invites.created_by as created_by",
        "users.username as username",
        "invites.created_at as created_at",
        "invites.expires_at as expires_at",
        "invites.max_uses as max_uses",
        "invites.uses as uses",
        "invites.revoked_at as revoked_at",
      ])
      .orderBy("invites.created_at", "desc")
      .orderBy("invites.id", "desc")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      createdBy: r.created_by,
      createdByUsername: r.username ?? null,
      createdAt: Number(r.created_at),
      expiresAt: Number(r.expires_at),
      maxUses: Number(r.max_uses),
      uses: Number(r.uses),
      revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    }));
  }

  async revokeInvite(id: string, at: number): Promise<boolean> {
    const result = await this.#db
      .updateTable("invites")
      .set({ revoked_at: at })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  // ---- rooms and direct conversations ----

  async createRoom(room: NewRoom): Promise<RoomRecord> {
    await rejectingConflicts(
      this.#db
        .insertInto("rooms")
        .values({
          id: room.id,
          kind: room.kind,
          name: room.name,
          topic: room.topic,
          is_public: toFlag(room.isPublic),
          owner_id: room.ownerId,
          pair_key: room.pairKey,
          created_at: room.createdAt,
          max_members: room.maxMembers ?? null,
          passphrase_hash: room.passphraseHash ?? null,
        })
        .execute(),
    );
    const { id, kind, name, topic, isPublic, ownerId, pairKey, createdAt } = room;
    return {
      id,
      kind,
      name,
      topic,
      isPublic,
      ownerId,
      pairKey,
      createdAt,
      maxMembers: room.maxMembers ?? null,
      passphraseHash: room.passphraseHash ?? null,
    };
  }

  async updateRoom(id: RoomId, patch: RoomPatch): Promise<void> {
    const set: {
      name?: string;
      topic?: string | null;
      is_public?: Flag;
      max_members?: number | null;
      passphrase_hash?: string | null;
    } = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.topic !== undefined) set.topic = patch.topic;
    if (patch.isPublic !== undefined) set.is_public = toFlag(patch.isPublic);
    if (patch.maxMembers !== undefined) set.max_members = patch.maxMembers;
    if (patch.passphraseHash !== undefined) set.passphrase_hash = patch.passphraseHash;
    if (Object.keys(set).length === 0) return;
    await this.#db.updateTable("rooms").set(set).where("id", "=", id).execute();
  }

  async countMembers(roomIds: readonly RoomId[]): Promise<Map<RoomId, number>> {
    if (roomIds.length === 0) return new Map();
    const rows = await this.#db
      .selectFrom("room_members")
      .select(["room_id", (eb) => eb.fn.countAll<number | string | bigint>().as("n")])
      .where("room_id", "in", [...roomIds])
      .groupBy("room_id")
      .execute();
    return new Map(rows.map((r) => [r.room_id, Number(r.n)]));
  }

  async setMemberRole(roomId: RoomId, userId: UserId, role: "moderator" | "member"): Promise<boolean> {
    const result = await this.#db
      .updateTable("room_members")
      .set({ is_moderator: toFlag(role === "moderator") })
      .where("room_id", "=", roomId)
      .where("user_id", "=", userId)
      .where("role", "=", "member")
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async findRoom(id: RoomId): Promise<RoomRecord | undefined> {
    const row = await this.#db.selectFrom("rooms").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toRoom(row);
  }

  async findDirectRoom(pairKey: string): Promise<RoomRecord | undefined> {
    const row = await this.#db
      .selectFrom("rooms")
      .selectAll()
      .where("pair_key", "=", pairKey)
      .where("kind", "=", "direct")
      .executeTakeFirst();
    return row && toRoom(row);
  }

  async listRoomsOfUser(userId: UserId): Promise<RoomRecord[]> {
    const rows = await this.#db
      .selectFrom("rooms")
      .innerJoin("room_members", "room_members.room_id", "rooms.id")
      .selectAll("rooms")
      .where("room_members.user_id", "=", userId)
      .orderBy("rooms.created_at")
      .orderBy("rooms.id")
      .execute();
    return rows.map(toRoom);
  }

  async listPublicRooms(page: PublicRoomsPage = {}): Promise<RoomRecord[]> {
    let q = this.#db.selectFrom("rooms").selectAll().where("kind", "=", "room").where("is_public", "=", 1);
    const after = page.after;
    if (after !== undefined) q = q.where((eb) => roomAfter(eb, after));
    if (page.query !== undefined && page.query !== "") {
      // LIKE with the query's own wildcards escaped; lower() on both sides, as SQLite's and
      // PostgreSQL's LIKE differ in case sensitivity.
      const pattern = `%${page.query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where(sql<boolean>`lower(name) like ${pattern} escape '\\'`);
    }
    q = q.orderBy("created_at").orderBy("id");
    if (page.limit !== undefined) q = q.limit(page.limit);
    return (await q.execute()).map(toRoom);
  }

  async listAllRooms(page: {
    after?: { createdAt: number; id: string };
    limit: number;
  }): Promise<RoomRecord[]> {
    let q = this.#db.selectFrom("rooms").selectAll().where("kind", "=", "room");
    const after = page.after;
    if (after !== undefined) q = q.where((eb) => roomAfter(eb, after));
    const rows = await q.orderBy("created_at").orderBy("id").limit(page.limit).execute();
    return rows.map(toRoom);
  }

  async countRooms(): Promise<number> {
    const row = await this.#db
      .selectFrom("rooms")
      .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
      .where("kind", "=", "room")
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countRoomsOwnedBy(userId: UserId): Promise<number> {
    const row = await this.#db
      .selectFrom("rooms")
      .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
      .where("kind", "=", "room")
      .where("owner_id", "=", userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async addMember(roomId: RoomId, userId: UserId, role: MemberRole, at: number): Promise<void> {
    await this.#db
      .insertInto("room_members")
      .values({
        room_id: roomId,
        user_id: userId,
        role: role === "owner" ? "owner" : "member",
        joined_at: at,
        is_moderator: toFlag(role === "moderator"),
      })
      .onConflict((oc) => oc.columns(["room_id", "user_id"]).doNothing())
      .execute();
  }

  async removeMember(roomId: RoomId, userId: UserId): Promise<boolean> {
    const result = await this.#db
      .deleteFrom("room_members")
      .where("room_id", "=", roomId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async listMembers(roomId: RoomId): Promise<MemberRecord[]> {
    const rows = await this.#db
      .selectFrom("room_members")
      .select(["user_id", "role", "joined_at", "is_moderator"])
      .where("room_id", "=", roomId)
      .orderBy("joined_at")
      .orderBy("user_id")
      .execute();
    return rows.map(toMember);
  }

  async isMember(roomId: RoomId, userId: UserId): Promise<boolean> {
    const row = await this.#db
      .selectFrom("room_members")
      .select("user_id")
      .where("room_id", "=", roomId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async addRoomInvite(roomId: RoomId, userId: UserId, invitedBy: UserId, at: number): Promise<void> {
    await this.#db
      .insertInto("room_invites")
      .values({ room_id: roomId, user_id: userId, invited_by: invitedBy, created_at: at })
      .onConflict((oc) => oc.columns(["room_id", "user_id"]).doNothing())
      .execute();
  }

  async hasRoomInvite(roomId: RoomId, userId: UserId): Promise<boolean> {
    const row = await this.#db
      .selectFrom("room_invites")
      .select("user_id")
      .where("room_id", "=", roomId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async findRoomInvite(roomId: RoomId, userId: UserId): Promise<RoomInviteRecord | undefined> {
    const row = await this.#db
      .selectFrom("room_invites")
      .selectAll()
      .where("room_id", "=", roomId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row && toRoomInvite(row);
  }

  async listRoomInvitesOf(userId: UserId): Promise<RoomInviteRecord[]> {
    const rows = await this.#db
      .selectFrom("room_invites")
      .selectAll()
      .where("user_id", "=", userId)
      .orderBy("created_at")
      .orderBy("room_id")
      .execute();
    return rows.map(toRoomInvite);
  }

  async countRoomInvitesBy(invitedBy: UserId): Promise<number> {
    const row = await this.#db
      .selectFrom("room_invites")
      .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
      .where("invited_by", "=", invitedBy)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async removeRoomInvite(roomId: RoomId, userId: UserId): Promise<void> {
    await this.#db
      .deleteFrom("room_invites")
      .where("room_id", "=", roomId)
      .where("user_id", "=", userId)
      .execute();
  }

  /** A room has one owner, so every other "owner" row is demoted, not just the previous one's. */
  async setRoomOwner(roomId: RoomId, userId: UserId): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable("rooms").set({ owner_id: userId }).where("id", "=", roomId).execute();
      await trx
        .updateTable("room_members")
        .set({ role: "member" })
        .where("room_id", "=", roomId)
        .where("role", "=", "owner")
        .where("user_id", "!=", userId)
        .execute();
      await trx
        .updateTable("room_members")
        .set({ role: "owner", is_moderator: 0 })
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .execute();
    });
  }

  async deleteRoom(id: RoomId): Promise<void> {
    // Explicit deletes rather than trusting ON DELETE CASCADE alone: SQLite enforces foreign
    // keys only on connections that turned them on.
    await this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom("room_members").where("room_id", "=", id).execute();
      await trx.deleteFrom("room_invites").where("room_id", "=", id).execute();
      await trx.deleteFrom("rooms").where("id", "=", id).execute();
    });
  }

  // ---- bans (ROOM-19) ----

  async addRoomBan(roomId: RoomId, userId: UserId, bannedBy: UserId, at: number): Promise<void> {
    await this.#db
      .insertInto("room_bans")
      .values({ room_id: roomId, user_id: userId, banned_by: bannedBy, created_at: at })
      .onConflict((oc) => oc.columns(["room_id", "user_id"]).doNothing())
      .execute();
  }

  async removeRoomBan(roomId: RoomId, userId: UserId): Promise<boolean> {
    const r = await this.#db
      .deleteFrom("room_bans")
      .where("room_id", "=", roomId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async isBannedFromRoom(roomId: RoomId, userId: UserId): Promise<boolean> {
    const row = await this.#db
      .selectFrom("room_bans")
      .select("user_id")
      .where("room_id", "=", roomId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async listRoomBans(roomId: RoomId): Promise<RoomBanRecord[]> {
    const rows = await this.#db
      .selectFrom("room_bans as b")
      .innerJoin("users as u", "u.id", "b.user_id")
      .leftJoin("users as m", "m.id", "b.banned_by")
      .select(["b.user_id", "u.username", "b.banned_by", "m.username as by_name", "b.created_at"])
      .where("b.room_id", "=", roomId)
      .orderBy("b.created_at")
      .orderBy("b.user_id")
      .execute();
    return rows.map((r) => ({
      userId: r.user_id,
      username: r.username,
      bannedBy: r.banned_by !== null && r.by_name !== null ? { id: r.banned_by, username: r.by_name } : null,
      createdAt: Number(r.created_at),
    }));
  }

  // ---- blocks (ACCT-6) ----

  async addBlock(blockerId: UserId, blockedId: UserId, at: number): Promise<void> {
    await this.#db
      .insertInto("user_blocks")
      .values({ blocker_id: blockerId, blocked_id: blockedId, created_at: at })
      .onConflict((oc) => oc.columns(["blocker_id", "blocked_id"]).doNothing())
      .execute();
  }

  async removeBlock(blockerId: UserId, blockedId: UserId): Promise<boolean> {
    const r = await this.#db
      .deleteFrom("user_blocks")
      .where("blocker_id", "=", blockerId)
      .where("blocked_id", "=", blockedId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async isBlocked(blockerId: UserId, blockedId: UserId): Promise<boolean> {
    const row = await this.#db
      .selectFrom("user_blocks")
      .select("blocked_id")
      .where("blocker_id", "=", blockerId)
      .where("blocked_id", "=", blockedId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async countBlocks(blockerId: UserId): Promise<number> {
    const row = await this.#db
      .selectFrom("user_blocks")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("blocker_id", "=", blockerId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listBlocks(blockerId: UserId): Promise<{ userId: UserId; username: string; createdAt: number }[]> {
    const rows = await this.#db
      .selectFrom("user_blocks as b")
      .innerJoin("users as u", "u.id", "b.blocked_id")
      .select(["b.blocked_id", "u.username", "b.created_at"])
      .where("b.blocker_id", "=", blockerId)
      .orderBy("b.created_at")
      .orderBy("b.blocked_id")
      .execute();
    return rows.map((r) => ({ userId: r.blocked_id, username: r.username, createdAt: Number(r.created_at) }));
  }

  // ---- account deletion (ACCT-3) ----

  async deleteUser(id: UserId, at: number): Promise<DeletedUserCounts | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom("users").select("username").where("id", "=", id).executeTakeFirst();
      if (!user) return undefined;
      const count = async (table: "devices" | "key_packages", column: "user_id") => {
        const row = await trx
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .where(column, "=", id)
          .executeTakeFirstOrThrow();
        return Number(row.n);
      };
      const devices = await count("devices", "user_id");
      const keyPackages = await count("key_packages", "user_id");
      const identity = await trx.deleteFrom("identity_keys").where("user_id", "=", id).executeTakeFirst();
      // Children first: SQLite enforces the cascades only with foreign_keys on. The user's
      // mls_group_devices rows stay: remaining members' Commits remove those leaves (MLS-5).
      for (const table of [
        "handshake_queue",
        "key_packages",
        "offline_queue",
        "offline_queue_cursors",
        "device_revocations",
        "devices",
      ] as const) {
        await trx.deleteFrom(table).where("user_id", "=", id).execute();
      }
      const invites = await trx
        .deleteFrom("room_invites")
        .where((eb) => eb.or([eb("user_id", "=", id), eb("invited_by", "=", id)]))
        .executeTakeFirst();
      const sessions = await trx
        .selectFrom("sessions")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("user_id", "=", id)
        .executeTakeFirstOrThrow();
      await trx
        .deleteFrom("refresh_tokens")
        .where("session_id", "in", (eb) => eb.selectFrom("sessions").select("id").where("user_id", "=", id))
        .execute();
      await trx.deleteFrom("sessions").where("user_id", "=", id).execute();
      await trx.deleteFrom("room_members").where("user_id", "=", id).execute();
      await trx.deleteFrom("room_bans").where("user_id", "=", id).execute();
      await trx
        .deleteFrom("user_blocks")
        .where((eb) => eb.or([eb("blocker_id", "=", id), eb("blocked_id", "=", id)]))
        .execute();
      await trx
        .deleteFrom("subscriptions")
        .where((eb) => eb.or([eb("follower_id", "=", id), eb("target_id", "=", id)]))
        .execute();
      await trx.deleteFrom("recovery_codes").where("user_id", "=", id).execute();
      await trx.deleteFrom("invites").where("created_by", "=", id).execute();
      await trx.updateTable("rooms").set({ owner_id: null }).where("owner_id", "=", id).execute();
      await trx
        .insertInto("retired_usernames")
        .values({ username_key: usernameKey(user.username), retired_at: at })
        .onConflict((oc) => oc.column("username_key").doNothing())
        .execute();
      await trx.deleteFrom("users").where("id", "=", id).execute();
      return {
        devices,
        keyPackages,
        sessions: Number(sessions.n),
        invites: Number(invites.numDeletedRows),
        identityKey: Number(identity.numDeletedRows) > 0,
      };
    });
  }

  // ---- subscriptions ----

  async addSubscription(followerId: UserId, targetId: UserId, at: number): Promise<void> {
    await this.#db
      .insertInto("subscriptions")
      .values({ follower_id: followerId, target_id: targetId, created_at: at })
      .onConflict((oc) => oc.columns(["follower_id", "target_id"]).doNothing())
      .execute();
  }

  async removeSubscription(followerId: UserId, targetId: UserId): Promise<boolean> {
    const result = await this.#db
      .deleteFrom("subscriptions")
      .where("follower_id", "=", followerId)
      .where("target_id", "=", targetId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async listSubscriptions(followerId: UserId): Promise<UserId[]> {
    const rows = await this.#db
      .selectFrom("subscriptions")
      .select("target_id")
      .where("follower_id", "=", followerId)
      .orderBy("target_id")
      .execute();
    return rows.map((r) => r.target_id);
  }

  async listSubscribers(targetId: UserId): Promise<UserId[]> {
    const rows = await this.#db
      .selectFrom("subscriptions")
      .select("follower_id")
      .where("target_id", "=", targetId)
      .orderBy("follower_id")
      .execute();
    return rows.map((r) => r.follower_id);
  }

  // ---- operations ----

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }

  /** Idempotent: a second call waits for the first instead of failing on a closed pool. */
  close(): Promise<void> {
    this.#closing ??= this.#db.destroy();
    return this.#closing;
  }
}

/** Keyset paging over rooms in (created_at, id) order: the rooms after `after`. */
function roomAfter(eb: ExpressionBuilder<Database, "rooms">, after: { createdAt: number; id: string }) {
  return eb.or([
    eb("created_at", ">", after.createdAt),
    eb.and([eb("created_at", "=", after.createdAt), eb("id", ">", after.id as RoomId)]),
  ]);
}
