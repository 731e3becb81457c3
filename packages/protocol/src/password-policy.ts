import { isCommonPassword } from "./common-passwords.js";
import { checkPasswordWith, type PasswordCheckResult, type PasswordPolicy } from "./password-check.js";

export * from "./password-check.js";

/**
 * The password rules with the full common-password list: the verdict the server enforces.
 * Throws only on an invalid policy (see `checkPasswordWith`).
 */
export function checkPassword(
  password: string,
  username: string,
  policy: PasswordPolicy,
): PasswordCheckResult {
  return checkPasswordWith(isCommonPassword, password, username, policy);
}
