import type { PasswordRule } from "./password-rules.js";

export { PASSWORD_RULES, type PasswordRule } from "./password-rules.js";

/**
 * The password rules (DESIGN.md, "password policy"), without a common-password list: the server
 * binds the full list (password-policy.ts), the browser a compact table of it
 * (password-policy-compact.ts), so that both show the same checklist with the same verdicts.
 * Pure: no `node:` imports.
 *
 * Every length is counted in Unicode code points after NFKC normalisation, the form the hasher
 * hashes: an emoji is one character, and a full-width `Ａ` typed on a phone is the `A` typed on a
 * laptop (NIST SP 800-63B-4 §3.1.1.2: count code points, normalise with NFKC or NFKD before hashing).
 */

/** ASCII punctuation, the 32 printable characters that are neither letters nor digits. Space is not one. */
export const ASCII_SPECIAL_CHARACTERS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/** Usernames shorter than this are not looked for inside the password: `al` is in too many words. */
export const MIN_USERNAME_LENGTH_CHECKED = 3;

export type PasswordPolicyName = "default" | "nist" | "classic";

export interface PasswordPolicy {
  readonly name: PasswordPolicyName;
  /** Code points after NFKC, inclusive. */
  readonly minLength: number;
  /** Code points after NFKC, inclusive. Also bounds the work a login asks of the hasher. */
  readonly maxLength: number;
  /** At least one uppercase letter (Unicode category Lu, so `É` counts). */
  readonly requireUppercase: boolean;
  /** At least one character from `specialCharacters`. */
  readonly requireSpecial: boolean;
  readonly specialCharacters: string;
  /** Refuse passwords on the common-password list, case-insensitively. */
  readonly rejectCommon: boolean;
  /** Refuse passwords that contain the username (3+ characters), case-insensitively. */
  readonly rejectUsername: boolean;
}

export const PASSWORD_POLICIES: Readonly<Record<PasswordPolicyName, PasswordPolicy>> = Object.freeze({
  /** The original design's rules without its 15-character cap, which ruled out passphrases. */
  default: Object.freeze({
    name: "default",
    minLength: 12,
    maxLength: 128,
    requireUppercase: true,
    requireSpecial: true,
    specialCharacters: ASCII_SPECIAL_CHARACTERS,
    rejectCommon: true,
    rejectUsername: true,
  }),
  /** NIST SP 800-63B-4 §3.1.1.2: 15+ characters for a single factor, no composition rules, a blocklist. */
  nist: Object.freeze({
    name: "nist",
    minLength: 15,
    maxLength: 128,
    requireUppercase: false,
    requireSpecial: false,
    specialCharacters: ASCII_SPECIAL_CHARACTERS,
    rejectCommon: true,
    rejectUsername: true,
  }),
  /** The original LAN design: exactly 12 to 15 characters, an uppercase letter and a special one. */
  classic: Object.freeze({
    name: "classic",
    minLength: 12,
    maxLength: 15,
    requireUppercase: true,
    requireSpecial: true,
    specialCharacters: ASCII_SPECIAL_CHARACTERS,
    rejectCommon: true,
    rejectUsername: true,
  }),
});

export interface PasswordCheck {
  readonly rule: PasswordRule;
  readonly ok: boolean;
}

export interface PasswordCheckResult {
  /** True when no rule failed. */
  readonly ok: boolean;
  /** Every rule that failed, in `PASSWORD_RULES` order, so a form can name them all at once. */
  readonly failed: PasswordRule[];
  /** One entry per rule the policy enforces (the two length rules always), in `PASSWORD_RULES` order. */
  readonly checks: Array<{ rule: PasswordRule; ok: boolean }>;
}

/**
 * NFKC, the form in which passwords are measured and hashed, so that the same password typed on
 * two keyboards (composed or decomposed accents, full-width forms, ligatures) hashes equal.
 */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

/**
 * Throws `RangeError` for impossible lengths and `TypeError` when special characters are
 * required from an empty set. The presets pass; a hand-built policy should be checked once.
 */
export function assertPasswordPolicy(policy: PasswordPolicy): void {
  if (!Number.isSafeInteger(policy.minLength) || policy.minLength < 1) {
    throw new RangeError("minLength must be an integer >= 1");
  }
  if (!Number.isSafeInteger(policy.maxLength) || policy.maxLength < policy.minLength) {
    throw new RangeError("maxLength must be an integer >= minLength");
  }
  if (policy.requireSpecial && policy.specialCharacters.length === 0) {
    throw new TypeError("requireSpecial needs a non-empty specialCharacters");
  }
}

const UPPERCASE_LETTER = /\p{Lu}/u;

/** Whether a password (NFKC-normalised) is on the common-password list. */
export type CommonPasswordTest = (normalizedPassword: string) => boolean;

/**
 * Checks `password` against every rule of `policy` and reports each verdict. `username` is the
 * account's name (pass "" when there is none yet); `isCommon` decides the `common_password` rule.
 * Throws only on an invalid policy.
 */
export function checkPasswordWith(
  isCommon: CommonPasswordTest,
  password: string,
  username: string,
  policy: PasswordPolicy,
): PasswordCheckResult {
  assertPasswordPolicy(policy);
  const normalized = normalizePassword(password);
  const codePoints = [...normalized];
  const checks: Array<{ rule: PasswordRule; ok: boolean }> = [
    { rule: "too_short", ok: codePoints.length >= policy.minLength },
    { rule: "too_long", ok: codePoints.length <= policy.maxLength },
  ];
  if (policy.requireUppercase) {
    checks.push({ rule: "needs_uppercase", ok: UPPERCASE_LETTER.test(normalized) });
  }
  if (policy.requireSpecial) {
    const specials = new Set(policy.specialCharacters);
    checks.push({ rule: "needs_special", ok: codePoints.some((c) => specials.has(c)) });
  }
  if (policy.rejectCommon) {
    checks.push({ rule: "common_password", ok: !isCommon(normalized) });
  }
  if (policy.rejectUsername) {
    checks.push({ rule: "contains_username", ok: !containsUsername(normalized, username) });
  }
  const failed = checks.filter((c) => !c.ok).map((c) => c.rule);
  return { ok: failed.length === 0, failed, checks };
}

function containsUsername(normalizedPassword: string, username: string): boolean {
  const name = username.normalize("NFKC").toLowerCase();
  if ([...name].length < MIN_USERNAME_LENGTH_CHECKED) return false;
  return normalizedPassword.toLowerCase().includes(name);
}
