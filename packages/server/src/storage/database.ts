import type { RoomId, SessionId, UserId } from "../domain/ids.js";
import type { RoomKind } from "./storage.js";

/**
 * Row shapes as the database holds them, for Kysely's typing. Booleans are 0/1 integers and
 * times are integer milliseconds because that is the one representation both SQLite and
 * PostgreSQL store and return identically.
 */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  invites: InvitesTable;
  rooms: RoomsTable;
  room_members: RoomMembersTable;
  room_invites: RoomInvitesTable;
  subscriptions: SubscriptionsTable;
  devices: DevicesTable;
  key_packages: KeyPackagesTable;
  mls_groups: MlsGroupsTable;
  mls_group_devices: MlsGroupDevicesTable;
  handshake_queue: HandshakeQueueTable;
  offline_queue: OfflineQueueTable;
  offline_queue_cursors: OfflineQueueCursorsTable;
  identity_keys: IdentityKeysTable;
  device_revocations: DeviceRevocationsTable;
  audit_log: AuditLogTable;
  files: FilesTable;
  file_chunks: FileChunksTable;
  recovery_codes: RecoveryCodesTable;
  totp_factors: TotpFactorsTable;
  login_challenges: LoginChallengesTable;
  user_blocks: UserBlocksTable;
  room_bans: RoomBansTable;
  retired_usernames: RetiredUsernamesTable;
}

/** ACCT-6: `blocker_id` refuses room invitations from `blocked_id`. */
export interface UserBlocksTable {
  blocker_id: UserId;
  blocked_id: UserId;
  created_at: number;
}

/** ROOM-19. */
export interface RoomBansTable {
  room_id: RoomId;
  user_id: UserId;
  banned_by: UserId | null;
  created_at: number;
}

/** ACCT-5: usernameKey() of deleted accounts' names. */
export interface RetiredUsernamesTable {
  username_key: string;
  retired_at: number;
}

/** AUTH-13: one TOTP factor per account; `secret` is sealed with the server's TOTP key. */
export interface TotpFactorsTable {
  user_id: UserId;
  secret: string;
  created_at: number;
  enabled_at: number | null;
  last_step: number | null;
}

/** AUTH-14: a login waiting for its TOTP code (or for TOTP enrolment), by SHA-256 hash. */
export interface LoginChallengesTable {
  token_hash: string;
  user_id: UserId;
  kind: "totp" | "totp_enrol";
  ip: string;
  created_at: number;
  expires_at: number;
  attempts: number;
  used_at: number | null;
}

/** AUTH-11, AUTH-12: reset and recovery codes, by SHA-256 hash. */
export interface RecoveryCodesTable {
  code_hash: string;
  user_id: UserId;
  kind: "reset" | "recovery" | "totp";
  created_by: string;
  created_at: number;
  expires_at: number | null;
  used_at: number | null;
}

/** AUDIT-1: append-only; `details` is a JSON object of small scalars. */
export interface AuditLogTable {
  id: string;
  at: number;
  kind: string;
  node: string;
  actor_id: string | null;
  user_id: string | null;
  username: string | null;
  ip: string | null;
  user_agent: string | null;
  details: string;
}

export interface FilesTable {
  id: string;
  room_id: RoomId;
  owner_id: UserId;
  type: string;
  size: number;
  length: number;
  received: number;
  once: Flag;
  state: "uploading" | "complete" | "deleted";
  created_at: number;
  expires_at: number;
}

export interface FileChunksTable {
  file_id: string;
  start: number;
  data: Uint8Array;
}

export interface IdentityKeysTable {
  user_id: UserId;
  identity_key: string;
  created_at: number;
  /** IDENT-4 (migration 0015): when this key, made by a reset, got its first device. */
  reset_at: number | null;
}

export interface DeviceRevocationsTable {
  user_id: UserId;
  device_id: string;
  revocation: string;
  revoked_at: number;
}

export type Flag = 0 | 1;

export interface UsersTable {
  id: UserId;
  username: string;
  /** username.normalize("NFKC").toLowerCase(), unique: what makes names case-insensitive. */
  username_key: string;
  password_hash: string;
  is_admin: Flag;
  disabled: Flag;
  created_at: number;
}

export interface SessionsTable {
  id: SessionId;
  user_id: UserId;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  /** The device that last authenticated a socket with this session (IDENT-5), if any. */
  device_id: string | null;
  /** ACCT-1 (migration 0010): the sign-in's User-Agent, its last address and time seen. */
  user_agent: string | null;
  ip: string | null;
  last_seen_at: number | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: SessionId;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface InvitesTable {
  code_hash: string;
  created_by: UserId;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: UserId | null;
  /** 0014: the public id, the most registrations, those made, and when it was revoked. */
  id: string;
  max_uses: number;
  uses: number;
  revoked_at: number | null;
}

export interface RoomsTable {
  id: RoomId;
  kind: RoomKind;
  name: string;
  topic: string | null;
  is_public: Flag;
  owner_id: UserId | null;
  pair_key: string | null;
  created_at: number;
  max_members: number | null;
  passphrase_hash: string | null;
}

export interface RoomMembersTable {
  room_id: RoomId;
  user_id: UserId;
  /** A moderator is a "member" row with is_moderator = 1 (migration 0005). */
  role: "owner" | "member";
  joined_at: number;
  is_moderator: Flag;
}

export interface RoomInvitesTable {
  room_id: RoomId;
  user_id: UserId;
  invited_by: UserId;
  created_at: number;
}

export interface SubscriptionsTable {
  follower_id: UserId;
  target_id: UserId;
  created_at: number;
}

export interface DevicesTable {
  user_id: UserId;
  device_id: string;
  signature_key: string;
  next_seq: number;
  created_at: number;
  certificate: string | null;
}

export interface KeyPackagesTable {
  ref: string;
  user_id: UserId;
  device_id: string;
  key_package: string;
  last_resort: Flag;
  created_at: number;
}

export interface MlsGroupsTable {
  room_id: RoomId;
  epoch: number;
  group_info: string;
  updated_at: number;
}

export interface MlsGroupDevicesTable {
  room_id: RoomId;
  user_id: UserId;
  device_id: string;
}

export interface HandshakeQueueTable {
  user_id: UserId;
  device_id: string;
  seq: number;
  room_id: RoomId;
  kind: "commit" | "welcome";
  epoch: number;
  from_user_id: UserId;
  from_device_id: string;
  payload: string;
  created_at: number;
}

export interface OfflineQueueCursorsTable {
  user_id: UserId;
  device_id: string;
  next_seq: number;
  dropped: number;
}

export interface OfflineQueueTable {
  user_id: UserId;
  device_id: string;
  seq: number;
  room_id: RoomId;
  message_id: string;
  from_user_id: UserId;
  from_username: string;
  ts: number;
  /** The ciphertext as bytes; `payload_encoding` says how the client's string encoded them. */
  payload: Uint8Array;
  payload_encoding: "base64" | "base64url" | "text";
  expires_at: number;
}
