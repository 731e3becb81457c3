import { mayBeCommonPassword } from "./common-password-table.js";
import { checkPasswordWith, type PasswordCheckResult, type PasswordPolicy } from "./password-check.js";

export { COMMON_PASSWORD_FALSE_POSITIVE_RATE } from "./common-password-table.js";
export * from "./password-check.js";

/**
 * The password rules with the compact common-password table (common-password-table.ts), for a
 * client's checklist: the server's verdict, except that about 1 in 171 passwords that are not on
 * the list are called common (`COMMON_PASSWORD_FALSE_POSITIVE_RATE`). The server still checks the
 * full list, so a client that trusts this verdict lets nothing weaker through.
 */
export function checkPassword(
  password: string,
  username: string,
  policy: PasswordPolicy,
): PasswordCheckResult {
  return checkPasswordWith(mayBeCommonPassword, password, username, policy);
}
