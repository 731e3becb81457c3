import { type Static, Type } from "typebox";
import { PasswordInput, UsernameInput } from "./common.js";
import { INVITE_CODE_MAX_LENGTH } from "./limits.js";

/** AUTH-12: how many recovery codes a person gets at once. */
export const RECOVERY_CODE_COUNT = 10;
/** AUTH-11: how long an admin-issued reset code lives, in hours. */
export const RESET_CODE_TTL_HOURS = 24;

/** POST /api/password/reset (no token): a new password with a reset or recovery code. */
export const PasswordResetRequest = Type.Object({
  username: UsernameInput,
  /** `XXXX-XXXX-XXXX-XXXX`; case, spaces, dashes and I/L/O look-alikes are forgiven. */
  code: Type.String({ minLength: 1, maxLength: INVITE_CODE_MAX_LENGTH }),
  newPassword: PasswordInput,
});
export type PasswordResetRequest = Static<typeof PasswordResetRequest>;

/** POST /api/recovery-codes: the current password again, so a stolen session cannot make codes. */
export const RecoveryCodesRequest = Type.Object({ password: PasswordInput });
export type RecoveryCodesRequest = Static<typeof RecoveryCodesRequest>;

/** Answer to POST /api/recovery-codes: shown once; earlier unused codes no longer work. */
export const RecoveryCodesResponse = Type.Object({ codes: Type.Array(Type.String()) });
export type RecoveryCodesResponse = Static<typeof RecoveryCodesResponse>;

/** GET /api/recovery-codes: how many unused recovery codes the account has left. */
export const RecoveryCodesStatus = Type.Object({ remaining: Type.Integer({ minimum: 0 }) });
export type RecoveryCodesStatus = Static<typeof RecoveryCodesStatus>;

/** Answer to POST /api/admin/users/:userId/reset-code: shown once; stored hashed. */
export const ResetCodeResponse = Type.Object({
  code: Type.String(),
  /** Milliseconds since the epoch. */
  expiresAt: Type.Integer(),
});
export type ResetCodeResponse = Static<typeof ResetCodeResponse>;
