/** Account recovery without email (docs/PROTOCOL.md AUTH-11, AUTH-12), before anyone signs in. */
import type { PasswordResetRequest } from "@parley/protocol";
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
