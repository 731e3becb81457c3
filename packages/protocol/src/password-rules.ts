/**
 * The password rules' ids and how to say them to a person, apart from the checker
 * (password-policy.ts) so that a client can explain a refusal without loading the
 * common-password list the checker needs.
 */

/** Stable ids: they go on the wire (`failedRules`) and key the clients' checklists. */
export type PasswordRule =
  | "too_short"
  | "too_long"
  | "needs_uppercase"
  | "needs_special"
  | "common_password"
  | "contains_username";

/** Every rule, in the order `checkPassword` reports them. */
export const PASSWORD_RULES: readonly PasswordRule[] = Object.freeze([
  "too_short",
  "too_long",
  "needs_uppercase",
  "needs_special",
  "common_password",
  "contains_username",
]);

/** The numbers of a policy that its rules' wording needs (GET /api/info's `passwordPolicy`). */
export interface PasswordPolicyFigures {
  readonly minLength: number;
  readonly maxLength: number;
}

/**
 * What is wrong with a refused password, to follow "The password": "is shorter than 12
 * characters". Without the policy's figures the length rules are said without them; an id this
 * version does not know is returned as it is.
 */
export function passwordRuleFailure(rule: string, policy?: PasswordPolicyFigures): string {
  switch (rule as PasswordRule) {
    case "too_short":
      return policy ? `is shorter than ${policy.minLength} characters` : "is too short";
    case "too_long":
      return policy ? `is longer than ${policy.maxLength} characters` : "is too long";
    case "needs_uppercase":
      return "needs an uppercase letter";
    case "needs_special":
      return "needs a special character";
    case "common_password":
      return "is a commonly used password";
    case "contains_username":
      return "contains your username";
    default:
      return rule;
  }
}

/** "The password is shorter than 12 characters and needs a special character." */
export function passwordRefusal(rules: readonly string[], policy?: PasswordPolicyFigures): string {
  const parts = rules.map((r) => passwordRuleFailure(r, policy));
  if (parts.length === 0) return "The password does not meet the policy.";
  const last = parts.pop();
  return `The password ${parts.length > 0 ? `${parts.join(", ")} and ${last}` : last}.`;
}
