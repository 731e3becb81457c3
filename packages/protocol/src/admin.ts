import { type Static, Type } from "typebox";
import { RoomIdSchema, UserIdSchema } from "./common.js";

/*
 * Issue 19: the admin area's endpoints beyond those in http.ts (invites list and revoke, rooms,
 * live figures, effective settings, roles, force sign-out). Every one needs an admin (AUTH-10).
 */

/** Most uses one invite code may have, and the most invites one list holds. */
export const INVITE_USES_MAX = 1000;
export const ADMIN_INVITES_LIST_MAX = 500;
/** An invite's public id (never its code): 16 hex digits. */
export const INVITE_ID_PATTERN = "^[0-9a-f]{16}$";
/** Rooms in one page of GET /api/admin/rooms, at most and by default. */
export const ADMIN_ROOMS_PAGE_MAX = 200;
export const ADMIN_ROOMS_PAGE_DEFAULT = 50;
/** A rooms page's cursor: the last room's created-at (ms) and id, joined by ".". */
export const ADMIN_ROOMS_CURSOR_PATTERN = "^[0-9]{1,15}\\.[0-9A-Za-z]{1,32}$";

/** Who created an invite or owns a room; null once the account is gone. */
export const AdminUserRef = Type.Union([
  Type.Object({ id: UserIdSchema, username: Type.String() }),
  Type.Null(),
]);
export type AdminUserRef = Static<typeof AdminUserRef>;

/** One registration invite as an admin sees it: never its code. */
export const AdminInviteView = Type.Object({
  id: Type.String({ pattern: INVITE_ID_PATTERN }),
  createdBy: AdminUserRef,
  /** Milliseconds since the epoch. */
  createdAt: Type.Integer(),
  expiresAt: Type.Integer(),
  maxUses: Type.Integer({ minimum: 1 }),
  uses: Type.Integer({ minimum: 0 }),
  /** 0 once used up, revoked or expired. */
  usesLeft: Type.Integer({ minimum: 0 }),
  status: Type.Union([
    Type.Literal("active"),
    Type.Literal("used_up"),
    Type.Literal("expired"),
    Type.Literal("revoked"),
  ]),
});
export type AdminInviteView = Static<typeof AdminInviteView>;

/** GET /api/admin/invites: newest first, at most ADMIN_INVITES_LIST_MAX. */
export const AdminInvitesResponse = Type.Object({ invites: Type.Array(AdminInviteView) });
export type AdminInvitesResponse = Static<typeof AdminInvitesResponse>;

/** Path of DELETE /api/admin/invites/:inviteId. */
export const AdminInviteParams = Type.Object({ inviteId: Type.String({ pattern: INVITE_ID_PATTERN }) });
export type AdminInviteParams = Static<typeof AdminInviteParams>;

/** Query of GET /api/admin/rooms. `limit` is digits (a query string is text). */
export const AdminRoomsQuery = Type.Object({
  cursor: Type.Optional(Type.String({ pattern: ADMIN_ROOMS_CURSOR_PATTERN })),
  limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,4}$" })),
});
export type AdminRoomsQuery = Static<typeof AdminRoomsQuery>;

/** A room (not a direct conversation) as an admin sees it: no topic, no member list. */
export const AdminRoomView = Type.Object({
  id: RoomIdSchema,
  name: Type.String(),
  isPublic: Type.Boolean(),
  members: Type.Integer({ minimum: 0 }),
  owner: AdminUserRef,
  createdAt: Type.Integer(),
});
export type AdminRoomView = Static<typeof AdminRoomView>;

/** GET /api/admin/rooms: oldest first; `nextCursor` is null on the last page. */
export const AdminRoomsResponse = Type.Object({
  rooms: Type.Array(AdminRoomView),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type AdminRoomsResponse = Static<typeof AdminRoomsResponse>;

/**
 * GET /api/admin/stats: live figures from the counters /metrics exports. `connections` and the
 * two rates are this server's; `onlinePeople`, `rooms` and `blockedIps` are the cluster's.
 */
export const AdminStatsResponse = Type.Object({
  /** Milliseconds since the epoch, when the figures were read. */
  at: Type.Integer(),
  connections: Type.Integer({ minimum: 0 }),
  onlinePeople: Type.Integer({ minimum: 0 }),
  rooms: Type.Integer({ minimum: 0 }),
  /** `message.send` frames relayed in the last minute (since start, in the first minute). */
  messagesPerMinute: Type.Integer({ minimum: 0 }),
  /** Refused sign-ins (`POST /api/login`) in the last hour (since start, in the first hour). */
  failedLoginsPerHour: Type.Integer({ minimum: 0 }),
  blockedIps: Type.Integer({ minimum: 0 }),
});
export type AdminStatsResponse = Static<typeof AdminStatsResponse>;

/** GET /api/admin/settings: the effective settings by environment name, secrets redacted. */
export const AdminSettingsResponse = Type.Object({
  settings: Type.Record(
    Type.String(),
    Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
  ),
});
export type AdminSettingsResponse = Static<typeof AdminSettingsResponse>;

/** POST /api/admin/users/:userId/role */
export const AdminRoleRequest = Type.Object({ admin: Type.Boolean() });
export type AdminRoleRequest = Static<typeof AdminRoleRequest>;
