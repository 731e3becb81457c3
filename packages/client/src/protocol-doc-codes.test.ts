import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CRYPTO_ERRORS } from "@parley/crypto";
import { AUDIT_KINDS, CLIENT_ACTIONS, ERRORS, PASSWORD_RULES } from "@parley/protocol";
import { CLIENT_ERRORS } from "./errors.js";

// docs/PROTOCOL.md names error codes all over its prose and tables (`Errors: ...`, the frame
// tables' error column, the close-code table). packages/protocol/src/protocol-doc.test.ts checks
// that every registry code is in the doc; this checks the other way: a code the doc names is one
// a client can meet. It lives in the SDK because the SDK sees all three registries. A
// snake_case name in backticks is taken for a code unless it is an audit kind, a password rule,
// a client action or one of the few other names below.

const DOC = readFileSync(new URL("../../../docs/PROTOCOL.md", import.meta.url), "utf8");

/** snake_case names in PROTOCOL.md that are neither codes, audit kinds nor password rules. */
const OTHER_NAMES = new Set([
  "totp_enrol", // the `next` of a login answer (AUTH-14)
  "used_up", // an invite's status (admin endpoints)
  "parley_ws_connections", // metric names (ADMIN-1, LIMIT-3)
  "parley_messages_total",
  "parley_login_failures_total",
  "per_ip", // a metric label value (LIMIT-3)
  "refresh_token_reuse", // `details.reason` values of audit entries (AUDIT-1, AUTH-13)
  "ended_by_user",
  "wrong_code",
  "code_reused",
  "wrong_recovery_code",
  "last_resort", // the KeyPackage extension (MLS-2)
  "created_at", // fields of the device certificate and revocation (IDENT-1, IDENT-5)
  "revoked_at",
]);

function snakeCaseNames(): Set<string> {
  return new Set([...DOC.matchAll(/`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`/g)].map((m) => m[1] as string));
}

test("every error code PROTOCOL.md names is in the server's, the crypto or the SDK's registry", () => {
  const known = new Set<string>([
    ...Object.keys(ERRORS),
    ...Object.keys(CRYPTO_ERRORS),
    ...Object.keys(CLIENT_ERRORS),
    ...AUDIT_KINDS,
    ...PASSWORD_RULES,
    ...CLIENT_ACTIONS,
    ...OTHER_NAMES,
  ]);
  const unknown = [...snakeCaseNames()].filter((name) => !known.has(name));
  assert.deepEqual(unknown, [], "add the code to a registry, fix its spelling, or list a non-code name here");
});

test("the list of names that are not codes holds only names PROTOCOL.md uses", () => {
  const names = snakeCaseNames();
  const stale = [...OTHER_NAMES].filter((name) => !names.has(name));
  assert.deepEqual(stale, []);
});
