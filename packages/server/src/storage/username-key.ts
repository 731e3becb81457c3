/**
 * The form in which usernames are compared and kept unique: NFKC folds look-alike
 * compatibility characters (full-width letters, ligatures) and lower-casing folds case, so
 * "Alice", "ALICE" and "Ａｌｉｃｅ" are one account.
 */
export function usernameKey(username: string): string {
  return username.normalize("NFKC").toLowerCase();
}
