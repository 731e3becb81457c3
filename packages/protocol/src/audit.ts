import { type Static, Type } from "typebox";

/**
 * AUDIT-1: every kind of security event the server records in its audit log. Never a message,
 * a token, a password or a code: who, from where, when, and what happened to which account.
 */
export const AUDIT_KINDS = [
  "settings_at_start",
  "user_registered",
  "login_succeeded",
  "login_failed",
  "ip_blocked",
  "ip_unblocked",
  "password_changed",
  "password_reset",
  "reset_code_issued",
  "recovery_codes_created",
  "totp_enabled",
  "totp_disabled",
  "totp_cleared",
  "totp_failed",
  "session_revoked",
  "account_disabled",
  "account_enabled",
  "account_deleted",
  "role_changed",
  "invite_created",
  "invite_used",
  "invite_revoked",
  "identity_reset",
  "device_added",
  "device_removed",
  "room_deleted",
  "audit_exported",
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** An audit kind on the wire (the union of AUDIT_KINDS). */
export const AuditKindSchema = Type.Unsafe<AuditKind>(Type.Union(AUDIT_KINDS.map((k) => Type.Literal(k))));

/** Most entries one page of GET /api/admin/audit holds, and its default. */
export const AUDIT_PAGE_MAX = 500;
export const AUDIT_PAGE_DEFAULT = 100;
/** An audit entry's id: 12 hex digits of its time, 4 of a per-process sequence, 8 random. */
export const AUDIT_ID_PATTERN = "^[0-9a-f]{24}$";

const Millis = Type.String({ pattern: "^[0-9]{1,15}$" });

/**
 * Query of GET /api/admin/audit and /api/admin/audit/export. Query strings are text, so the
 * times (milliseconds since the epoch, `from` inclusive, `to` exclusive) and `limit` are digit
 * strings. `user` is a user id or a username and matches the actor or the account acted on.
 * `cursor` is the `nextCursor` of the previous page.
 */
export const AdminAuditQuery = Type.Object({
  from: Type.Optional(Millis),
  to: Type.Optional(Millis),
  kind: Type.Optional(AuditKindSchema),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  ip: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
  cursor: Type.Optional(Type.String({ pattern: AUDIT_ID_PATTERN })),
  limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,4}$" })),
});
export type AdminAuditQuery = Static<typeof AdminAuditQuery>;

/** Small facts about an event (a reason code, a count, a room id); never content. */
export const AuditDetails = Type.Record(
  Type.String(),
  Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
);
export type AuditDetails = Static<typeof AuditDetails>;

/** One audit entry. `actorId` did it (an admin, or the person themselves); `userId` had it done. */
export const AuditEntryView = Type.Object({
  id: Type.String({ pattern: AUDIT_ID_PATTERN }),
  /** Milliseconds since the epoch. */
  at: Type.Integer(),
  kind: AuditKindSchema,
  /** PARLEY_NODE_ID of the server that wrote it. */
  node: Type.String(),
  actorId: Type.Union([Type.String(), Type.Null()]),
  userId: Type.Union([Type.String(), Type.Null()]),
  username: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  details: AuditDetails,
});
export type AuditEntryView = Static<typeof AuditEntryView>;

/** GET /api/admin/audit: newest first; `nextCursor` is null on the last page. */
export const AdminAuditResponse = Type.Object({
  entries: Type.Array(AuditEntryView),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type AdminAuditResponse = Static<typeof AdminAuditResponse>;
