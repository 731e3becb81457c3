import { type Static, Type } from "typebox";
import {
  DEVICE_ID_MAX_LENGTH,
  PASSWORD_INPUT_MAX_LENGTH,
  REQUEST_ID_MAX_LENGTH,
  USER_ID_MAX_LENGTH,
  USERNAME_INPUT_MAX_LENGTH,
} from "./limits.js";
import { ROOM_ID_PATTERN } from "./room-id.js";

/** Request id chosen by the client; echoed as `rid` in the reply so calls can be correlated. */
export const RequestId = Type.String({ minLength: 1, maxLength: REQUEST_ID_MAX_LENGTH });

export const UserIdSchema = Type.String({ minLength: 1, maxLength: USER_ID_MAX_LENGTH });
/** ROOM-1: a room id in either case (see room-id.ts). */
export const RoomIdSchema = Type.String({ pattern: ROOM_ID_PATTERN });
/** A device id chosen by the client: 1-64 URL-safe characters. */
export const DeviceIdSchema = Type.String({ pattern: `^[A-Za-z0-9_-]{1,${DEVICE_ID_MAX_LENGTH}}$` });
export const DeviceRefSchema = Type.Object({ userId: UserIdSchema, deviceId: DeviceIdSchema });
export const UsernameInput = Type.String({ minLength: 1, maxLength: USERNAME_INPUT_MAX_LENGTH });
export const PasswordInput = Type.String({ minLength: 1, maxLength: PASSWORD_INPUT_MAX_LENGTH });
/** Opaque ciphertext, base64 (standard or URL-safe). The server never looks inside. */
export const Payload = Type.String({ minLength: 1, pattern: "^[A-Za-z0-9+/_-]+={0,2}$" });

export const UserView = Type.Object({
  id: UserIdSchema,
  username: Type.String(),
  isAdmin: Type.Boolean(),
});

export const UserWithPresence = Type.Object({
  id: UserIdSchema,
  username: Type.String(),
  online: Type.Boolean(),
});

export const RoomView = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal("room"), Type.Literal("direct")]),
  name: Type.String(),
  topic: Type.Union([Type.String(), Type.Null()]),
  isPublic: Type.Boolean(),
  ownerId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Integer(),
  /** ROOM-14: at most this many members; absent when there is no cap. */
  maxMembers: Type.Optional(Type.Integer({ minimum: 1 })),
  /** ROOM-15: joining without an invite needs the passphrase (never sent, only this flag). */
  hasPassphrase: Type.Optional(Type.Literal(true)),
  /** ROOM-11: in `room.discover` answers, how many members the room has. */
  memberCount: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const MemberView = Type.Object({
  userId: Type.String(),
  username: Type.String(),
  /** ROOM-16: moderators may invite to a private room, remove members, rename it and set its topic. */
  role: Type.Union([Type.Literal("owner"), Type.Literal("moderator"), Type.Literal("member")]),
  online: Type.Boolean(),
});

/** The body of every error answer (REST) and the core of the WebSocket `error` frame. */
export const ErrorBody = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** Milliseconds to wait before retrying, for rate limits and blocks. */
  retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
  /** For `password_policy`: every rule that failed. */
  failedRules: Type.Optional(Type.Array(Type.String())),
  /** For `validation_failed`: where the input was wrong (JSON pointers), never the input itself. */
  details: Type.Optional(Type.Array(Type.String())),
  /** For `stale_epoch`: the group's current epoch. */
  epoch: Type.Optional(Type.Integer({ minimum: 0 })),
});

export type UserView = Static<typeof UserView>;
export type UserWithPresence = Static<typeof UserWithPresence>;
export type RoomView = Static<typeof RoomView>;
export type MemberView = Static<typeof MemberView>;
export type ErrorBody = Static<typeof ErrorBody>;
