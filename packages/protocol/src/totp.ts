import { type Static, Type } from "typebox";
import { PasswordInput } from "./common.js";
import { SessionResponse } from "./http.js";
import { INVITE_CODE_MAX_LENGTH } from "./limits.js";

/** AUTH-15: how many TOTP recovery codes a person gets at enrolment. */
export const TOTP_RECOVERY_CODE_COUNT = 10;
/** AUTH-14: how long a login challenge waits for its second step, in seconds. */
export const LOGIN_CHALLENGE_TTL_S = 300;
/** AUTH-14: codes one login challenge accepts before the password is needed again. */
export const LOGIN_CHALLENGE_MAX_ATTEMPTS = 5;

/**
 * A six-digit TOTP code (RFC 6238, SHA-1, 30 s), or a TOTP recovery code
 * (`XXXX-XXXX-XXXX-XXXX`, the look-alikes and dashes forgiven as for reset codes).
 */
export const TotpCodeInput = Type.String({ minLength: 1, maxLength: INVITE_CODE_MAX_LENGTH });
/** A login challenge token, as `POST /api/login` gave it. */
export const ChallengeInput = Type.String({ minLength: 1, maxLength: 128 });

/**
 * The answer of `POST /api/login` when the password was right but a second step is needed:
 * `totp` (send a code with `POST /api/login/totp`) or `totp_enrol` (PARLEY_REQUIRE_TOTP asks
 * this account to enrol first: `POST /api/login/totp/enrol`, then `/api/login/totp/confirm`).
 */
export const LoginChallengeResponse = Type.Object({
  next: Type.Union([Type.Literal("totp"), Type.Literal("totp_enrol")]),
  challenge: Type.String(),
  /** Milliseconds since the epoch. */
  expiresAt: Type.Integer(),
});
export type LoginChallengeResponse = Static<typeof LoginChallengeResponse>;

/** `POST /api/login` answers a session, or a challenge for the second step. */
export const LoginResponse = Type.Union([SessionResponse, LoginChallengeResponse]);
export type LoginResponse = Static<typeof LoginResponse>;

/** POST /api/login/totp and /api/login/totp/confirm. */
export const LoginTotpRequest = Type.Object({ challenge: ChallengeInput, code: TotpCodeInput });
export type LoginTotpRequest = Static<typeof LoginTotpRequest>;

/** POST /api/login/totp/enrol. */
export const LoginTotpEnrolRequest = Type.Object({ challenge: ChallengeInput });
export type LoginTotpEnrolRequest = Static<typeof LoginTotpEnrolRequest>;

/** The secret of a TOTP enrolment, shown this once (as text and as an otpauth:// URI for a QR). */
export const TotpEnrolment = Type.Object({
  /** Base32 (RFC 4648), for typing into an authenticator by hand. */
  secret: Type.String(),
  /** `otpauth://totp/...` (the Key Uri Format authenticator apps read from a QR code). */
  uri: Type.String(),
});
export type TotpEnrolment = Static<typeof TotpEnrolment>;

/** Answer of POST /api/totp/confirm: the ten recovery codes, shown this once. */
export const TotpRecoveryCodes = Type.Object({ recoveryCodes: Type.Array(Type.String()) });
export type TotpRecoveryCodes = Static<typeof TotpRecoveryCodes>;

/** Answer of POST /api/login/totp/confirm: the session and the recovery codes (shown once). */
export const LoginEnrolledResponse = Type.Object({
  session: SessionResponse,
  recoveryCodes: Type.Array(Type.String()),
});
export type LoginEnrolledResponse = Static<typeof LoginEnrolledResponse>;

/** GET /api/totp. */
export const TotpStatus = Type.Object({
  enabled: Type.Boolean(),
  /** PARLEY_REQUIRE_TOTP covers this account: it cannot turn TOTP off. */
  required: Type.Boolean(),
  recoveryCodesLeft: Type.Integer({ minimum: 0 }),
});
export type TotpStatus = Static<typeof TotpStatus>;

/** POST /api/totp/enrol: the password again, so an unlocked session cannot lock its owner out. */
export const TotpEnrolRequest = Type.Object({ password: PasswordInput });
export type TotpEnrolRequest = Static<typeof TotpEnrolRequest>;

/** POST /api/totp/confirm: the first code from the authenticator turns TOTP on. */
export const TotpConfirmRequest = Type.Object({ code: TotpCodeInput });
export type TotpConfirmRequest = Static<typeof TotpConfirmRequest>;

/** POST /api/totp/disable: the password and a current code (or a recovery code). */
export const TotpDisableRequest = Type.Object({ password: PasswordInput, code: TotpCodeInput });
export type TotpDisableRequest = Static<typeof TotpDisableRequest>;
