import type { Selectable } from "kysely";
import type { Database, Flag } from "./database.js";
import type {
  MemberRecord,
  RefreshTokenRecord,
  RoomInviteRecord,
  RoomRecord,
  SessionRecord,
  UserRecord,
} from "./storage.js";

type Row<T extends keyof Database> = Selectable<Database[T]>;

export const toFlag = (value: boolean): Flag => (value ? 1 : 0);
const fromFlag = (value: number): boolean => value === 1;

export function toUser(row: Row<"users">): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    isAdmin: fromFlag(row.is_admin),
    disabled: fromFlag(row.disabled),
    createdAt: row.created_at,
  };
}

export function toSession(row: Row<"sessions">): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

export function toRefreshToken(row: Row<"refresh_tokens">): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    sessionId: row.session_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
  };
}

export function toRoom(row: Row<"rooms">): RoomRecord {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    topic: row.topic,
    isPublic: fromFlag(row.is_public),
    ownerId: row.owner_id,
    pairKey: row.pair_key,
    createdAt: row.created_at,
    maxMembers: row.max_members === null ? null : Number(row.max_members),
    passphraseHash: row.passphrase_hash,
  };
}

export function toMember(
  row: Pick<Row<"room_members">, "user_id" | "role" | "joined_at" | "is_moderator">,
): MemberRecord {
  const role = row.role === "owner" ? "owner" : fromFlag(Number(row.is_moderator)) ? "moderator" : "member";
  return { userId: row.user_id, role, joinedAt: row.joined_at };
}

export function toRoomInvite(row: Row<"room_invites">): RoomInviteRecord {
  return { roomId: row.room_id, userId: row.user_id, invitedBy: row.invited_by, createdAt: row.created_at };
}
