/**
 * The program of the child process that does the argon2 work for password-hasher.ts (see the
 * top of that file), as plain JavaScript run with `node --input-type=module --eval`: no loader,
 * no TypeScript, the same under tsx (tests, the benchmark) and from dist, and quick to start.
 *
 * Once loaded (at normal priority, so that its start-up is not starved on a busy machine), it
 * lowers the priority of each of its threads, before libuv starts the ones that run the hashes:
 * Linux applies a nice value to one thread, and new threads inherit their creator's, so those
 * are created at the low priority too. argon2's error messages are not passed on: they may
 * quote their input.
 */

export type HashRequest =
  | { readonly id: number; readonly op: "hash"; readonly password: string; readonly options: object }
  | { readonly id: number; readonly op: "verify"; readonly encoded: string; readonly password: string };

export type HashReply =
  | { readonly id: number; readonly ok: true; readonly value: string | boolean }
  | { readonly id: number; readonly ok: false };

/** The child's source; `argon2Url` is where the server's own copy of the argon2 package is. */
export function hashWorkerSource(argon2Url: string, nice: number): string {
  return `
import { readdirSync } from "node:fs";
import { setPriority } from "node:os";
const { hash, verify } = await import(${JSON.stringify(argon2Url)});
const NICE = ${JSON.stringify(nice)};
let threads = [];
try {
  threads = readdirSync("/proc/self/task");
} catch {}
try {
  setPriority(NICE);
  for (const tid of threads) setPriority(Number(tid), NICE);
} catch {}
async function answer(request) {
  try {
    const value = request.op === "hash"
      ? await hash(request.password, request.options)
      : await verify(request.encoded, request.password);
    return { id: request.id, ok: true, value };
  } catch {
    return { id: request.id, ok: false };
  }
}
process.on("message", (request) => {
  void answer(request).then((reply) => process.send(reply));
});
process.on("disconnect", () => process.exit(0));
`;
}
