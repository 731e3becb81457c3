import { USERNAME_MAX_LENGTH, USERNAME_MIN_LENGTH } from "@parley/protocol";
import { ParleyError } from "./errors.js";

/** AUTH-1: ASCII letters and digits, with '.', '_' or '-' inside (never first or last). */
const USERNAME = new RegExp(
  `^[A-Za-z0-9][A-Za-z0-9._-]{${USERNAME_MIN_LENGTH - 2},${USERNAME_MAX_LENGTH - 2}}[A-Za-z0-9]$`,
);

export function validateUsername(raw: string): string {
  const name = raw.normalize("NFKC").trim();
  if (!USERNAME.test(name)) throw new ParleyError("invalid_username");
  return name;
}

/** The case-insensitive key under which a username is unique (in storage) and throttled. */
export { usernameKey } from "../storage/username-key.js";
