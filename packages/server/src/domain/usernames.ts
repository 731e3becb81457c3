import { ParleyError } from "./errors.js";

/** 3-32 characters: ASCII letters and digits, with '.', '_' or '-' inside (never first or last). */
const USERNAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,30})[A-Za-z0-9]$/;

export function validateUsername(raw: string): string {
  const name = raw.normalize("NFKC").trim();
  if (!USERNAME.test(name)) throw new ParleyError("invalid_username");
  return name;
}

/** The case-insensitive key under which a username is unique (in storage) and throttled. */
export { usernameKey } from "../storage/username-key.js";
