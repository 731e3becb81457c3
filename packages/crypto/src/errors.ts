/**
 * Every failure @parley/crypto reports for input it was given (messages, credentials, stored
 * state), in one registry. Codes are stable and never reused; callers and tests branch on
 * `code`, never on `message`; no code is also one of @parley/protocol's wire codes (the SDK
 * hands both to the same callers). Misuse by the caller (a wrong argument type, an out-of-range
 * option) throws TypeError or RangeError instead, as programming errors.
 *
 * Authentication failures are deliberately coarse: a tampered ciphertext, a bad signature and
 * a wrong membership tag all report `authentication_failed`, so the error is no oracle telling
 * an attacker which check their forgery failed.
 */
export const CRYPTO_ERRORS = {
  malformed_message: "The bytes are not a valid MLS message of the expected kind.",
  wrong_group: "The message belongs to another group.",
  epoch_unavailable:
    "The message is for an epoch whose keys this device does not hold: not reached yet, or already deleted.",
  message_replayed: "The key for this message was already used or deleted: a replay or a duplicate.",
  message_too_far_ahead: "The sender skipped more messages than the out-of-order window allows.",
  authentication_failed: "The message failed authentication: altered in transit, or not from a member.",
  invalid_message: "The message is well formed but not valid for this group's state.",
  credential_rejected: "The Authentication Service check refused a member's credential or signature key.",
  own_commit: "This commit was made by this device; merge the pending commit instead of processing it.",
  not_in_group: "This device is not a member of the group (any more).",
  invalid_identity: "The credential does not carry a valid Parley device identity.",
  key_package_unusable:
    "The KeyPackage is malformed, badly signed, expired, or of a cipher suite Parley does not run.",
  no_matching_key_package: "The Welcome is not addressed to any of the given KeyPackages.",
  invalid_state: "The stored bytes are not a group state or key bundle this version can restore.",
  unsupported_suite: "The group, message or KeyPackage uses an MLS cipher suite Parley does not run.",
  suite_mismatch:
    "The KeyPackage or message is of another MLS cipher suite than the group (a group keeps the suite it was created in).",
} as const;

export type CryptoErrorCode = keyof typeof CRYPTO_ERRORS;

/** The one error type @parley/crypto throws for bad input; `code` says which rule failed. */
export class ParleyCryptoError extends Error {
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, options?: { cause?: unknown }) {
    super(CRYPTO_ERRORS[code], options);
    this.name = "ParleyCryptoError";
    this.code = code;
  }
}

export function isParleyCryptoError(e: unknown, code?: CryptoErrorCode): e is ParleyCryptoError {
  return e instanceof ParleyCryptoError && (code === undefined || e.code === code);
}
