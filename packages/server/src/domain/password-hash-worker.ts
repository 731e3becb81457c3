/**
 * The child process that does the argon2 work for password-hasher.ts (see the top of that
 * file). It lowers its own priority first, before libuv starts the threads that run the hashes,
 * so those threads are created at the lowest priority too (Linux applies a nice value to one
 * thread, and new threads inherit their creator's).
 */
import { setPriority } from "node:os";
import { hash, verify } from "argon2";

/** The lowest scheduling priority (POSIX nice 19). */
const LOWEST_PRIORITY = 19;

try {
  setPriority(LOWEST_PRIORITY);
} catch {
  // Not allowed here (some containers); the hashes still run outside the event loop's process.
}

export type HashRequest =
  | { readonly id: number; readonly op: "hash"; readonly password: string; readonly options: object }
  | { readonly id: number; readonly op: "verify"; readonly encoded: string; readonly password: string };

export type HashReply =
  | { readonly id: number; readonly ok: true; readonly value: string | boolean }
  | { readonly id: number; readonly ok: false };

async function answer(request: HashRequest): Promise<HashReply> {
  try {
    const value =
      request.op === "hash"
        ? await hash(request.password, request.options)
        : await verify(request.encoded, request.password);
    return { id: request.id, ok: true, value };
  } catch {
    // argon2's message is not passed on: it may quote its input.
    return { id: request.id, ok: false };
  }
}

process.on("message", (request: HashRequest) => {
  void answer(request).then((reply) => process.send?.(reply));
});
// The server went away: nothing is left to do.
process.on("disconnect", () => process.exit(0));
