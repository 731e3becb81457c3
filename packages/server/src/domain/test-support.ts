import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { openSqliteStorage } from "../storage/sqlite.js";
import type { Storage } from "../storage/storage.js";
import type { AuthContext } from "./accounts.js";
import { asSessionId, asUserId, type UserId } from "./ids.js";

// Helpers for the domain's unit tests only; nothing in the server imports this module.

export const T0 = 1_700_000_000_000;

/** A migrated SQLite storage in a temp dir of its own, closed and deleted after the test. */
export async function tempStorage(t: TestContext): Promise<Storage> {
  const dir = await mkdtemp(join(tmpdir(), "parley-domain-"));
  const storage = await openSqliteStorage(join(dir, "parley.db"));
  t.after(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });
  return storage;
}

/** Creates user `name` (id `u-<name>`) and returns a signed-in context for them. */
export async function addUser(storage: Storage, name: string, isAdmin = false): Promise<AuthContext> {
  const userId: UserId = asUserId(`u-${name}`);
  await storage.createUser({ id: userId, username: name, passwordHash: "h", isAdmin, createdAt: T0 });
  return { userId, username: name, sessionId: asSessionId(`s-${name}`), isAdmin };
}
