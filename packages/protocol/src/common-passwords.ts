import { dictionary } from "@zxcvbn-ts/language-common";

/**
 * Passwords that guessers try first. The base is zxcvbn-ts's `passwords-common` list (about
 * 49,000 entries, lowercase, ranked by frequency in public breach corpora); its dictionary is
 * the only thing imported here, not the zxcvbn estimator. NIST SP 800-63B-4 §3.1.1.2 asks
 * verifiers to refuse passwords found in such lists.
 *
 * Pure: no `node:` imports, so the browser client can run the same check before it submits.
 */

/**
 * Obvious choices the list lacks because most of its entries are shorter than 12 characters:
 * a short favourite padded to pass length and composition rules. Lowercase, like the list.
 */
const EXTRA_COMMON_PASSWORDS: readonly string[] = [
  "password123!",
  "password1234",
  "password1234!",
  "password12345",
  "passw0rd123!",
  "p@ssw0rd123!",
  "p@ssword123!",
  "p@ssword1234",
  "qwerty123456!",
  "qwertyuiop1!",
  "qwertyuiop123!",
  "welcome123!",
  "welcome1234!",
  "welcome12345",
  "letmein12345",
  "letmein123!",
  "iloveyou123!",
  "iloveyou1234",
  "changeme123!",
  "changeme1234",
  "admin123456!",
  "administrator1!",
  "123456789abc!",
  "correcthorsebatterystaple",
  "correct horse battery staple",
];

let commonPasswords: ReadonlySet<string> | undefined;

/** The whole list as a set, built on first use (some 20 ms and a few MB, so not at import). */
export function getCommonPasswords(): ReadonlySet<string> {
  commonPasswords ??= new Set([...dictionary["passwords-common"], ...EXTRA_COMMON_PASSWORDS]);
  return commonPasswords;
}

/** Case-insensitive, after NFKC normalisation: `ＰＡＳＳＷＯＲＤ` is `password`. */
export function isCommonPassword(password: string): boolean {
  return getCommonPasswords().has(password.normalize("NFKC").toLowerCase());
}
