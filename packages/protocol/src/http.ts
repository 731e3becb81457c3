import { type Static, Type } from "typebox";
import { INVITE_ID_PATTERN, INVITE_USES_MAX } from "./admin.js";
import {
  PasswordInput,
  RoomIdSchema,
  UserIdSchema,
  UsernameInput,
  UserView,
  UserWithPresence,
} from "./common.js";
import { FilesInfo } from "./files.js";
import { INVITE_CODE_MAX_LENGTH, INVITE_TTL_HOURS_MAX, REFRESH_TOKEN_MAX_LENGTH } from "./limits.js";
import { MlsSuiteSchema } from "./mls-suite.js";

/** POST /api/register */
export const RegisterRequest = Type.Object({
  username: UsernameInput,
  password: PasswordInput,
  inviteCode: Type.Optional(Type.String({ minLength: 1, maxLength: INVITE_CODE_MAX_LENGTH })),
});
export type RegisterRequest = Static<typeof RegisterRequest>;

/** POST /api/login */
export const LoginRequest = Type.Object({
  username: UsernameInput,
  password: PasswordInput,
});
export type LoginRequest = Static<typeof LoginRequest>;

/** POST /api/token/refresh */
export const RefreshRequest = Type.Object({
  refreshToken: Type.String({ minLength: 1, maxLength: REFRESH_TOKEN_MAX_LENGTH }),
});
export type RefreshRequest = Static<typeof RefreshRequest>;

/** POST /api/password: changes the password and ends every other session of the account. */
export const ChangePasswordRequest = Type.Object({
  currentPassword: PasswordInput,
  newPassword: PasswordInput,
});
export type ChangePasswordRequest = Static<typeof ChangePasswordRequest>;

/** GET /api/identity: the identity key bound to the signed-in account (IDENT-2), null before any. */
export const IdentityResponse = Type.Object({ identityKey: Type.Union([Type.String(), Type.Null()]) });
export type IdentityResponse = Static<typeof IdentityResponse>;

/**
 * POST /api/identity/reset (IDENT-4): with the password, `identityKey` (base64, 32 bytes)
 * replaces the account's; every device of the account is deleted and every other session ends.
 */
export const IdentityResetRequest = Type.Object({
  password: PasswordInput,
  identityKey: Type.String({ minLength: 43, maxLength: 44, pattern: "^[A-Za-z0-9+/]{43}=?$" }),
});
export type IdentityResetRequest = Static<typeof IdentityResetRequest>;

/** Answer to register, login and refresh. */
export const SessionResponse = Type.Object({
  user: UserView,
  sessionId: Type.String(),
  accessToken: Type.String(),
  /** Milliseconds since the epoch. */
  accessTokenExpiresAt: Type.Integer(),
  refreshToken: Type.String(),
  refreshTokenExpiresAt: Type.Integer(),
});
export type SessionResponse = Static<typeof SessionResponse>;

/** GET /api/me */
export const MeResponse = Type.Object({
  user: UserView,
  sessionId: Type.String(),
});
export type MeResponse = Static<typeof MeResponse>;

/** ACCT-1: one session (sign-in) of the account, as GET /api/sessions shows it. */
export const SessionView = Type.Object({
  id: Type.String(),
  /** The session of the token that asked. */
  current: Type.Boolean(),
  createdAt: Type.Integer(),
  /** Last authenticated request or socket frame, to the minute; null before any. */
  lastSeenAt: Type.Union([Type.Integer(), Type.Null()]),
  /** The address it was last seen from (the person's own data). */
  ip: Type.Union([Type.String(), Type.Null()]),
  /** The User-Agent it signed in with (at most 200 characters, control characters removed). */
  userAgent: Type.Union([Type.String(), Type.Null()]),
  /** The device that last opened a socket with it (IDENT-5), if any. */
  deviceId: Type.Union([Type.String(), Type.Null()]),
});
export type SessionView = Static<typeof SessionView>;

/** GET /api/sessions: the account's live sessions, newest first. */
export const SessionsResponse = Type.Object({ sessions: Type.Array(SessionView) });
export type SessionsResponse = Static<typeof SessionsResponse>;

/** Path of DELETE /api/sessions/:sessionId. */
export const SessionParams = Type.Object({ sessionId: Type.String({ minLength: 1, maxLength: 64 }) });
export type SessionParams = Static<typeof SessionParams>;

/** DELETE /api/me (ACCT-3): the password confirms it. */
export const DeleteAccountRequest = Type.Object({ password: PasswordInput });
export type DeleteAccountRequest = Static<typeof DeleteAccountRequest>;

/** ACCT-3: what an account deletion removed, by kind. */
export const AccountDeletedResponse = Type.Object({
  deleted: Type.Object({
    /** Rooms and direct conversations the person was removed from. */
    rooms: Type.Integer(),
    /** Of those, rooms deleted because nobody was left. */
    emptyRoomsDeleted: Type.Integer(),
    /** Rooms handed to a new owner. */
    roomsHandedOver: Type.Integer(),
    devices: Type.Integer(),
    keyPackages: Type.Integer(),
    sessions: Type.Integer(),
    files: Type.Integer(),
    /** Room invitations the person had received or sent and that were still open. */
    invites: Type.Integer(),
    identityKey: Type.Boolean(),
  }),
});
export type AccountDeletedResponse = Static<typeof AccountDeletedResponse>;

/** POST /api/admin/users/:userId/sign-out: how many sessions ended. */
export const SignOutResponse = Type.Object({ sessions: Type.Integer() });
export type SignOutResponse = Static<typeof SignOutResponse>;

/** GET /api/blocks (ACCT-6): the people whose invitations this account refuses, oldest first. */
export const BlocksResponse = Type.Object({
  blocked: Type.Array(Type.Object({ id: Type.String(), username: Type.String(), since: Type.Integer() })),
});
export type BlocksResponse = Static<typeof BlocksResponse>;

/** Path of PUT and DELETE /api/blocks/:userId. */
export const BlockParams = Type.Object({ userId: UserIdSchema });
export type BlockParams = Static<typeof BlockParams>;

/** GET /api/users */
export const UsersResponse = Type.Object({
  users: Type.Array(UserWithPresence),
});
export type UsersResponse = Static<typeof UsersResponse>;

/** GET /api/info: what a client needs before it signs in. */
export const InfoResponse = Type.Object({
  name: Type.Literal("parley"),
  protocolVersion: Type.Integer(),
  registration: Type.Union([Type.Literal("open"), Type.Literal("invite"), Type.Literal("closed")]),
  passwordPolicy: Type.Object({
    name: Type.String(),
    minLength: Type.Integer(),
    maxLength: Type.Integer(),
    requireUppercase: Type.Boolean(),
    requireSpecial: Type.Boolean(),
    specialCharacters: Type.String(),
    rejectCommon: Type.Boolean(),
    rejectUsername: Type.Boolean(),
  }),
  limits: Type.Object({
    maxFrameBytes: Type.Integer(),
    messageRate: Type.Number(),
    messageBurst: Type.Integer(),
  }),
  /** SHA-256 of the local CA certificate (uppercase hex with colons), when the server made one. */
  caFingerprint: Type.Union([Type.String(), Type.Null()]),
  /** POLICY-1: SHA-256 of the policy key (uppercase hex pairs joined by colons). Absent from servers before signed policies. */
  policyKeyFingerprint: Type.Optional(Type.String()),
  /**
   * What the server keeps of messages: `none` (relayed to connected devices only) or `queue`
   * (ciphertext waits up to `queueTtlSeconds` for a device that is away).
   */
  storage: Type.Object({
    messages: Type.Union([Type.Literal("none"), Type.Literal("queue")]),
    queueTtlSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  }),
  /**
   * The MLS cipher suite of new groups and KeyPackages on this server (MLS-9). Groups keep the
   * suite they were created in.
   */
  mlsSuite: MlsSuiteSchema,
  /** Encrypted files: whether uploads are on and the limits a client checks before uploading. */
  files: Type.Optional(FilesInfo),
});
export type InfoResponse = Static<typeof InfoResponse>;

// ---- admin (Bearer, and the account must be an admin: `admin_required` otherwise) ----

/** POST /api/admin/invites. Send `{}` for the default lifetime. */
export const CreateInviteRequest = Type.Object({
  /** How long the code stays valid, in hours: 1-720 (30 days); default 72. */
  ttlHours: Type.Optional(Type.Integer({ minimum: 1, maximum: INVITE_TTL_HOURS_MAX })),
  /** How many accounts the code may register: 1-1000; default 1 (single use). */
  maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: INVITE_USES_MAX })),
});
export type CreateInviteRequest = Static<typeof CreateInviteRequest>;

/** Answer to POST /api/admin/invites: the only time the code is shown (the server keeps its hash). */
export const CreateInviteResponse = Type.Object({
  /** The invite's public id (GET /api/admin/invites lists it; revoking takes it). */
  id: Type.String({ pattern: INVITE_ID_PATTERN }),
  /** `XXXX-XXXX-XXXX-XXXX`, Crockford base32. */
  code: Type.String(),
  maxUses: Type.Integer({ minimum: 1 }),
  /** Milliseconds since the epoch. */
  expiresAt: Type.Integer(),
});
export type CreateInviteResponse = Static<typeof CreateInviteResponse>;

/** An account as an admin sees it: disabled ones included, no presence. */
export const AdminUserView = Type.Object({
  id: UserIdSchema,
  username: Type.String(),
  isAdmin: Type.Boolean(),
  disabled: Type.Boolean(),
  /** Whether two-step sign-in (TOTP, AUTH-13) is on for the account. */
  totp: Type.Boolean(),
  /** Milliseconds since the epoch. */
  createdAt: Type.Integer(),
});
export type AdminUserView = Static<typeof AdminUserView>;

/** GET /api/admin/users */
export const AdminUsersResponse = Type.Object({
  users: Type.Array(AdminUserView),
});
export type AdminUsersResponse = Static<typeof AdminUsersResponse>;

/** Path of POST /api/admin/users/:userId/disable and /enable. */
export const AdminUserParams = Type.Object({
  userId: UserIdSchema,
});
export type AdminUserParams = Static<typeof AdminUserParams>;

/** Path of DELETE /api/admin/rooms/:roomId. */
export const AdminRoomParams = Type.Object({
  roomId: RoomIdSchema,
});
export type AdminRoomParams = Static<typeof AdminRoomParams>;

/** The most a note on an admin's IP block holds, and the longest such block (30 days). */
export const ADMIN_BLOCK_NOTE_MAX = 200;
export const ADMIN_BLOCK_MINUTES_MAX = 43_200;

/** One blocked address: why (AUTH-3 failed logins, or an admin), by whom, until when. */
export const AdminBlockView = Type.Object({
  ip: Type.String(),
  /** Milliseconds until the block ends by itself. */
  retryAfterMs: Type.Integer({ minimum: 0 }),
  reason: Type.Union([Type.Literal("brute_force"), Type.Literal("admin")]),
  /** The admin's note; null for a block after failed logins. */
  note: Type.Union([Type.String(), Type.Null()]),
  /** The admin who blocked it; null for a block after failed logins. */
  blockedBy: Type.Union([Type.Object({ id: UserIdSchema, username: Type.String() }), Type.Null()]),
  /** Milliseconds since the epoch. */
  blockedAt: Type.Integer(),
});
export type AdminBlockView = Static<typeof AdminBlockView>;

/** GET /api/admin/blocks: client IPs refused at login (AUTH-3), sorted by `ip`. */
export const AdminBlocksResponse = Type.Object({ blocks: Type.Array(AdminBlockView) });
export type AdminBlocksResponse = Static<typeof AdminBlocksResponse>;

/** POST /api/admin/blocks: an admin blocks an address's logins for `minutes`, with a note. */
export const AdminBlockRequest = Type.Object({
  ip: Type.String({ minLength: 2, maxLength: 64 }),
  minutes: Type.Integer({ minimum: 1, maximum: ADMIN_BLOCK_MINUTES_MAX }),
  note: Type.Optional(Type.String({ maxLength: ADMIN_BLOCK_NOTE_MAX })),
});
export type AdminBlockRequest = Static<typeof AdminBlockRequest>;

/** Path of DELETE /api/admin/blocks/:ip. The server then checks it is an IP address. */
export const AdminBlockParams = Type.Object({
  ip: Type.String({ minLength: 2, maxLength: 64 }),
});
export type AdminBlockParams = Static<typeof AdminBlockParams>;
