/** Account recovery without email (docs/PROTOCOL.md AUTH-11, AUTH-12), before anyone signs in. */
import { type PasswordResetRequest, RecoveryCodesResponse, RecoveryCodesStatus } from "@parley/protocol";
import type { ApiCall } from "./admin.js";
import { expectShape } from "./json.js";
import type { FetchLike } from "./platform.js";
import { requestJson } from "./session.js";

/**
 * POST /api/password/reset: a new password with a reset code from an admin or one of the
 * person's recovery codes. Every session of the account ends; sign in afterwards. Throws
 * ParleyClientError (`reset_code_invalid`, `password_policy`, `ip_blocked` ...).
 */
export async function resetPassword(
  baseUrl: string,
  fetch: FetchLike,
  request: PasswordResetRequest,
): Promise<void> {
  await requestJson(fetch, `${baseUrl}/api/password/reset`, "POST", request);
}

/**
 * AUTH-12: ten new recovery codes for the signed-in account, to be shown once and printed; the
 * unused codes of the earlier set stop working. Needs the password again
 * (`invalid_credentials` otherwise, counted as a failed login).
 */
export async function createRecoveryCodes(call: ApiCall, password: string): Promise<string[]> {
  const answer = await call("POST", "/api/recovery-codes", { password });
  return expectShape<RecoveryCodesResponse>(RecoveryCodesResponse, answer, "recovery codes").codes;
}

/** AUTH-12: how many unused recovery codes the signed-in account has. */
export async function recoveryCodesLeft(call: ApiCall): Promise<number> {
  const answer = await call("GET", "/api/recovery-codes");
  return expectShape<RecoveryCodesStatus>(RecoveryCodesStatus, answer, "recovery code count").remaining;
}
