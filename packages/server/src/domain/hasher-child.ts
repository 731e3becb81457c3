/**
 * The password hasher's own process (see password-hasher.ts, HashProcess): argon2 in a process
 * that runs under SCHED_IDLE (or at nice 19), so a burst of logins takes only the CPU the event
 * loop leaves. It says when it is ready, answers each request over the IPC channel and exits
 * when the server goes away.
 */
import { hash, verify } from "argon2";
import { ARGON2_PARAMETERS } from "./argon2-parameters.js";

type Request =
  | { readonly id: number; readonly op: "hash"; readonly password: string }
  | { readonly id: number; readonly op: "verify"; readonly password: string; readonly encoded: string };

function isRequest(m: unknown): m is Request {
  if (typeof m !== "object" || m === null) return false;
  const r = m as Record<string, unknown>;
  if (typeof r.id !== "number" || typeof r.password !== "string") return false;
  return r.op === "hash" || (r.op === "verify" && typeof r.encoded === "string");
}

process.on("message", (m: unknown) => {
  if (!isRequest(m)) return;
  const work = m.op === "hash" ? hash(m.password, ARGON2_PARAMETERS) : verify(m.encoded, m.password);
  work.then(
    (value) => process.send?.({ id: m.id, ok: true, value }),
    // argon2 refused the input (a stored hash it cannot read): the answer, not a crash.
    () => process.send?.({ id: m.id, ok: false }),
  );
});
process.on("disconnect", () => process.exit(0));
process.send?.({ ready: true });
