import { type Static, Type } from "typebox";
import { PasswordInput, UsernameInput, UserView, UserWithPresence } from "./common.js";

/** POST /api/register */
export const RegisterRequest = Type.Object({
  username: UsernameInput,
  password: PasswordInput,
  inviteCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
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
  refreshToken: Type.String({ minLength: 1, maxLength: 256 }),
});
export type RefreshRequest = Static<typeof RefreshRequest>;

/** POST /api/password: changes the password and ends every other session of the account. */
export const ChangePasswordRequest = Type.Object({
  currentPassword: PasswordInput,
  newPassword: PasswordInput,
});
export type ChangePasswordRequest = Static<typeof ChangePasswordRequest>;

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
});
export type InfoResponse = Static<typeof InfoResponse>;
