import type { BlobStore } from "../blobs/blob-store.js";
import type { RoomId, SessionId, UserId } from "../domain/ids.js";
import type { AuditStore } from "./audit-store.js";
import type { DeliveryStore } from "./delivery-store.js";
import type { FileStore } from "./file-store.js";
import type { OfflineQueueStore } from "./offline-queue-store.js";
import type { RecoveryCodeStore } from "./recovery-code-store.js";
import type { TotpStore } from "./totp-store.js";

/**
 * Everything the server keeps on disk, behind one interface so that the domain never knows
 * whether it runs on SQLite or PostgreSQL. No message plaintext ever passes through here: the
 * relay keeps none, and only the opt-in offline queue keeps ciphertext (DESIGN.md, "content
 * retention").
 *
 * Times are milliseconds since the epoch (numbers). Every method is async because the
 * PostgreSQL implementation is.
 */
/** Where a page of the public-room directory starts and how much it holds. */
export interface PublicRoomsPage {
  readonly after?: { readonly createdAt: number; readonly id: string };
  readonly query?: string;
  readonly limit?: number;
}

export interface Storage {
  readonly dialect: "sqlite" | "postgres";
  /** The MLS delivery service's records (devices, KeyPackages, groups, handshake queues). */
  readonly delivery: DeliveryStore;
  /** The opt-in offline ciphertext queue (RELAY-5); empty unless PARLEY_OFFLINE_QUEUE=on. */
  readonly offlineQueue: OfflineQueueStore;
  /** Encrypted files' records (room, uploader, sizes, expiry; never a name or key). */
  readonly files: FileStore;
  /** File ciphertext in this database (PARLEY_FILE_STORE=database); unused with the disk store. */
  readonly fileBlobs: BlobStore;
  /** The append-only audit log of security events (AUDIT-1). */
  readonly audit: AuditStore;
  /** Single-use password reset and recovery codes (AUTH-11, AUTH-12). */
  readonly recovery: RecoveryCodeStore;
  /** TOTP factors and second-step login challenges (AUTH-13 to AUTH-15). */
  readonly totp: TotpStore;

  // ---- users ----
  /** Throws StorageConflictError when the username is taken (case-insensitively). */
  createUser(user: NewUser): Promise<UserRecord>;
  findUserById(id: UserId): Promise<UserRecord | undefined>;
  /** Case-insensitive lookup. */
  findUserByUsername(username: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  updatePasswordHash(id: UserId, passwordHash: string): Promise<void>;
  setUserDisabled(id: UserId, disabled: boolean): Promise<void>;
  /** Grants or takes away admin rights (the server's local admin command). */
  setUserAdmin(id: UserId, isAdmin: boolean): Promise<void>;
  /**
   * Takes away admin rights unless the account is the last enabled admin, in one statement;
   * false when it was the last one (or no admin at all).
   */
  demoteAdminUnlessLast(id: UserId): Promise<boolean>;

  // ---- sessions and refresh tokens ----
  createSession(session: NewSession): Promise<SessionRecord>;
  findSession(id: SessionId): Promise<SessionRecord | undefined>;
  /** Idempotent; returns true when this call revoked it. */
  revokeSession(id: SessionId, at: number): Promise<boolean>;
  /** Revokes every live session of the user except `keep`; returns the ids it revoked. */
  revokeUserSessions(userId: UserId, at: number, keep?: SessionId): Promise<SessionId[]>;
  /** ACCT-1: the user's sessions that are neither revoked nor expired at `now`, newest first. */
  listLiveSessions(userId: UserId, now: number): Promise<SessionDetails[]>;
  /** ACCT-1: the session was used at `at` from `ip` (the caller keeps this to once a minute). */
  touchSession(id: SessionId, at: number, ip: string | null): Promise<void>;
  /** IDENT-5: records that `deviceId` authenticated a socket with this session. */
  bindSessionDevice(id: SessionId, deviceId: string): Promise<void>;
  /** IDENT-5: revokes every live session of the user bound to `deviceId`; returns their ids. */
  revokeDeviceSessions(userId: UserId, deviceId: string, at: number): Promise<SessionId[]>;
  /** Refresh tokens are stored by their SHA-256 hash only. */
  insertRefreshToken(token: NewRefreshToken): Promise<void>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Marks the token used, atomically: returns true only for the first caller, so two
   * concurrent refreshes with one token cannot both succeed.
   */
  markRefreshTokenUsed(tokenHash: string, at: number): Promise<boolean>;
  /** Removes refresh tokens that expired before `before`; returns how many. */
  purgeExpiredRefreshTokens(before: number): Promise<number>;

  // ---- registration invites (admin-issued codes, stored hashed) ----
  createInvite(invite: NewInvite): Promise<void>;
  /**
   * Atomically takes one use of an unexpired, unrevoked invite that has uses left; true when
   * this call took it.
   */
  consumeInvite(codeHash: string, userId: UserId, at: number): Promise<boolean>;
  /** Invites newest first, at most `limit`, with their creators' names. */
  listInvites(limit: number): Promise<InviteRecord[]>;
  /** Marks the invite revoked; false when there is no such invite or it already was. */
  revokeInvite(id: string, at: number): Promise<boolean>;

  // ---- rooms and direct conversations ----
  /** Throws StorageConflictError when the id (or the direct pair key) is taken. */
  createRoom(room: NewRoom): Promise<RoomRecord>;
  findRoom(id: RoomId): Promise<RoomRecord | undefined>;
  /** The direct conversation of two users, by its order-independent pair key. */
  findDirectRoom(pairKey: string): Promise<RoomRecord | undefined>;
  listRoomsOfUser(userId: UserId): Promise<RoomRecord[]>;
  /**
   * Public rooms, oldest first, a page at a time: those after `after` (the created-at and id of
   * the last room of the previous page), whose name contains `query` (case-insensitive), at
   * most `limit`.
   */
  listPublicRooms(page?: PublicRoomsPage): Promise<RoomRecord[]>;
  /** Every room (not direct conversations), public or not, oldest first, a page at a time. */
  listAllRooms(page: { after?: { createdAt: number; id: string }; limit: number }): Promise<RoomRecord[]>;
  /** How many rooms (not direct conversations) there are. */
  countRooms(): Promise<number>;
  /** Rooms (not direct conversations) the user owns: what the per-user creation cap counts. */
  countRoomsOwnedBy(userId: UserId): Promise<number>;
  /** Changes the settings given (ROOM-16); the rest stay. */
  updateRoom(id: RoomId, patch: RoomPatch): Promise<void>;
  /** How many members each of the rooms has (rooms without members are left out). */
  countMembers(roomIds: readonly RoomId[]): Promise<Map<RoomId, number>>;
  /** Idempotent. */
  addMember(roomId: RoomId, userId: UserId, role: MemberRole, at: number): Promise<void>;
  /** Makes a member a moderator or a plain member again; false when they are not a member or own the room. */
  setMemberRole(roomId: RoomId, userId: UserId, role: "moderator" | "member"): Promise<boolean>;
  /** Returns true when the user was a member. */
  removeMember(roomId: RoomId, userId: UserId): Promise<boolean>;
  listMembers(roomId: RoomId): Promise<MemberRecord[]>;
  isMember(roomId: RoomId, userId: UserId): Promise<boolean>;
  /** Idempotent. */
  addRoomInvite(roomId: RoomId, userId: UserId, invitedBy: UserId, at: number): Promise<void>;
  hasRoomInvite(roomId: RoomId, userId: UserId): Promise<boolean>;
  findRoomInvite(roomId: RoomId, userId: UserId): Promise<RoomInviteRecord | undefined>;
  /** A user's pending invitations, oldest first. */
  listRoomInvitesOf(userId: UserId): Promise<RoomInviteRecord[]>;
  /** Pending invitations a user sent: what the per-user cap counts (ROOM-17). */
  countRoomInvitesBy(invitedBy: UserId): Promise<number>;
  removeRoomInvite(roomId: RoomId, userId: UserId): Promise<void>;
  /** Hands the room to another owner: sets rooms.owner_id and that member's role to "owner"
   * (the previous owner's membership row, if any, becomes "member"). */
  setRoomOwner(roomId: RoomId, userId: UserId): Promise<void>;
  /** Deletes the room, its members and its invites. */
  deleteRoom(id: RoomId): Promise<void>;

  // ---- bans (ROOM-19) ----
  /** Idempotent: a second ban keeps the first one's author and time. */
  addRoomBan(roomId: RoomId, userId: UserId, bannedBy: UserId, at: number): Promise<void>;
  /** True when there was one. */
  removeRoomBan(roomId: RoomId, userId: UserId): Promise<boolean>;
  isBannedFromRoom(roomId: RoomId, userId: UserId): Promise<boolean>;
  /** The room's bans, oldest first, with the names of the banned (and of who banned, if they still exist). */
  listRoomBans(roomId: RoomId): Promise<RoomBanRecord[]>;

  // ---- blocks (ACCT-6) ----
  /** Idempotent. */
  addBlock(blockerId: UserId, blockedId: UserId, at: number): Promise<void>;
  /** True when there was one. */
  removeBlock(blockerId: UserId, blockedId: UserId): Promise<boolean>;
  /** Whether `blockerId` blocked `blockedId`. */
  isBlocked(blockerId: UserId, blockedId: UserId): Promise<boolean>;
  countBlocks(blockerId: UserId): Promise<number>;
  /** Oldest first. */
  listBlocks(blockerId: UserId): Promise<{ userId: UserId; username: string; createdAt: number }[]>;

  // ---- account deletion (ACCT-3) ----
  /**
   * Deletes the account and everything of it the server keeps, in one transaction: devices,
   * KeyPackages, identity key, handshake and offline queues, revocations, sessions and refresh
   * tokens, room memberships, bans, blocks, room invitations it received or sent, subscriptions,
   * recovery codes. Its group places (mls_group_devices) stay until a remaining member's Commit
   * removes them (MLS-5). The username is retired: `createUser` refuses it from then on
   * (ACCT-5). Returns what it deleted; undefined when there was no such user.
   */
  deleteUser(id: UserId, at: number): Promise<DeletedUserCounts | undefined>;

  // ---- subscriptions (follow a user's posts in public rooms) ----
  /** Idempotent. */
  addSubscription(followerId: UserId, targetId: UserId, at: number): Promise<void>;
  /** Returns true when there was one. */
  removeSubscription(followerId: UserId, targetId: UserId): Promise<boolean>;
  listSubscriptions(followerId: UserId): Promise<UserId[]>;
  listSubscribers(targetId: UserId): Promise<UserId[]>;

  // ---- operations ----
  /** Cheap round trip for /readyz. Throws when the database is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type MemberRole = "owner" | "moderator" | "member";
export type RoomKind = "room" | "direct";

export interface NewUser {
  id: UserId;
  username: string;
  passwordHash: string;
  isAdmin: boolean;
  createdAt: number;
}
export interface UserRecord extends NewUser {
  disabled: boolean;
}

export interface NewSession {
  id: SessionId;
  userId: UserId;
  createdAt: number;
  /** Absolute end of the session (refresh tokens cannot extend past it). */
  expiresAt: number;
  /** ACCT-1: the sign-in's User-Agent (cleaned) and address. */
  userAgent?: string | null;
  ip?: string | null;
}
export interface SessionRecord extends NewSession {
  revokedAt: number | null;
}

/** ACCT-1: a live session as its owner sees it. */
export interface SessionDetails extends SessionRecord {
  deviceId: string | null;
  userAgent: string | null;
  ip: string | null;
  lastSeenAt: number | null;
}

export interface RoomBanRecord {
  userId: UserId;
  username: string;
  bannedBy: { id: UserId; username: string } | null;
  createdAt: number;
}

export interface DeletedUserCounts {
  devices: number;
  keyPackages: number;
  sessions: number;
  invites: number;
  identityKey: boolean;
}

export interface NewRefreshToken {
  tokenHash: string;
  sessionId: SessionId;
  createdAt: number;
  expiresAt: number;
}
export interface RefreshTokenRecord extends NewRefreshToken {
  usedAt: number | null;
}

export interface NewInvite {
  /** The public id (16 hex digits). */
  id: string;
  codeHash: string;
  createdBy: UserId;
  createdAt: number;
  expiresAt: number;
  /** Registrations the code allows; 1 when absent. */
  maxUses?: number;
}
export interface InviteRecord {
  id: string;
  createdBy: UserId;
  /** Null once the creator's account is gone. */
  createdByUsername: string | null;
  createdAt: number;
  expiresAt: number;
  maxUses: number;
  uses: number;
  revokedAt: number | null;
}

export interface NewRoom {
  id: RoomId;
  kind: RoomKind;
  name: string;
  topic: string | null;
  /** Public rooms can be joined by anyone who knows the id; private ones need an invite. */
  isPublic: boolean;
  ownerId: UserId | null;
  /** Only for direct conversations: the two user ids sorted and joined with ":". */
  pairKey: string | null;
  createdAt: number;
  /** ROOM-14: the member cap; null or absent for none. */
  maxMembers?: number | null;
  /** ROOM-15: argon2id hash of the join passphrase; null or absent for none. */
  passphraseHash?: string | null;
}
export interface RoomRecord extends NewRoom {
  maxMembers: number | null;
  passphraseHash: string | null;
}
export interface RoomPatch {
  name?: string;
  topic?: string | null;
  isPublic?: boolean;
  maxMembers?: number | null;
  passphraseHash?: string | null;
}
export interface RoomInviteRecord {
  roomId: RoomId;
  userId: UserId;
  invitedBy: UserId;
  createdAt: number;
}

export interface MemberRecord {
  userId: UserId;
  role: MemberRole;
  joinedAt: number;
}

/** A uniqueness constraint was violated (username, room id, direct pair). */
export class StorageConflictError extends Error {
  readonly code = "STORAGE_CONFLICT";
  constructor(readonly constraint: string) {
    super(`conflict on ${constraint}`);
    this.name = "StorageConflictError";
  }
}
