import { StorageConflictError } from "./storage.js";

/**
 * The names StorageConflictError carries, so callers can tell which uniqueness rule a write
 * broke without knowing the backend: PostgreSQL reports the constraint name, SQLite only the
 * columns (see migrations/0001-initial.ts for both).
 */
const CONSTRAINTS = [
  { name: "user_id", postgres: "users_pkey", sqlite: "users.id" },
  { name: "username", postgres: "users_username_key", sqlite: "users.username_key" },
  { name: "session_id", postgres: "sessions_pkey", sqlite: "sessions.id" },
  { name: "refresh_token", postgres: "refresh_tokens_pkey", sqlite: "refresh_tokens.token_hash" },
  { name: "invite", postgres: "invites_pkey", sqlite: "invites.code_hash" },
  { name: "room_id", postgres: "rooms_pkey", sqlite: "rooms.id" },
  { name: "direct_pair", postgres: "rooms_pair_key", sqlite: "rooms.pair_key" },
  { name: "device", postgres: "devices_pkey", sqlite: "devices.user_id, devices.device_id" },
  { name: "device_key", postgres: "devices_signature_key", sqlite: "devices.signature_key" },
  { name: "mls_group", postgres: "mls_groups_pkey", sqlite: "mls_groups.room_id" },
] as const;

export type ConflictConstraint = (typeof CONSTRAINTS)[number]["name"];

// better-sqlite3 puts the extended result code in `code` and the columns in the message.
const SQLITE_UNIQUE_CODES = new Set(["SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"]);
const SQLITE_COLUMNS = /constraint failed: (.+)$/;
// PostgreSQL SQLSTATE unique_violation (Appendix A, class 23).
const PG_UNIQUE_VIOLATION = "23505";

/**
 * Returns the StorageConflictError that a unique-constraint failure from either driver stands
 * for, or undefined when `error` is anything else.
 */
export function toConflictError(error: unknown): StorageConflictError | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, constraint, message } = error as { code?: unknown; constraint?: unknown; message?: unknown };
  if (code === PG_UNIQUE_VIOLATION && typeof constraint === "string") {
    const known = CONSTRAINTS.find((c) => c.postgres === constraint);
    return new StorageConflictError(known?.name ?? constraint);
  }
  if (typeof code === "string" && SQLITE_UNIQUE_CODES.has(code) && typeof message === "string") {
    const columns = SQLITE_COLUMNS.exec(message)?.[1] ?? "unknown";
    const known = CONSTRAINTS.find((c) => c.sqlite === columns);
    return new StorageConflictError(known?.name ?? columns);
  }
  return undefined;
}

/** Runs a write, turning unique-constraint failures into StorageConflictError. */
export async function rejectingConflicts<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    throw toConflictError(error) ?? error;
  }
}
