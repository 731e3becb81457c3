import { type Static, Type } from "typebox";

/** POLICY-1: the version of the policy statement's shape. */
export const SERVER_POLICY_VERSION = 1;
/** POLICY-1: what the server signs, as a prefix of the statement's bytes (domain separation). */
export const SERVER_POLICY_CONTEXT = "parley-server-policy-v1\n";

/**
 * POLICY-1: what a server keeps and logs, as its operator configured it. Signed with the
 * server's policy key; clients pin the key and the statement and warn when either changes.
 */
export const ServerPolicy = Type.Object({
  version: Type.Literal(SERVER_POLICY_VERSION),
  /** `none`: no message is ever stored; `queue`: ciphertext waits for offline devices up to the TTL. */
  messages: Type.Union([
    Type.Object({ storage: Type.Literal("none") }),
    Type.Object({ storage: Type.Literal("queue"), ttlSeconds: Type.Integer({ minimum: 1 }) }),
  ]),
  files: Type.Union([
    Type.Object({ enabled: Type.Literal(false) }),
    Type.Object({
      enabled: Type.Literal(true),
      ttlSeconds: Type.Integer({ minimum: 1 }),
      maxBytes: Type.Integer({ minimum: 1 }),
    }),
  ]),
  audit: Type.Object({ retentionDays: Type.Integer({ minimum: 1 }) }),
  logLevel: Type.String({ maxLength: 16 }),
  ids: Type.Object({
    maxFailures: Type.Integer({ minimum: 1 }),
    windowSeconds: Type.Integer({ minimum: 1 }),
    blockSeconds: Type.Integer({ minimum: 1 }),
    accountFreeFailures: Type.Integer({ minimum: 0 }),
    accountMaxDelaySeconds: Type.Integer({ minimum: 1 }),
  }),
  registration: Type.Union([Type.Literal("open"), Type.Literal("invite"), Type.Literal("closed")]),
  requireTotp: Type.Union([Type.Literal("off"), Type.Literal("admins"), Type.Literal("all")]),
});
export type ServerPolicy = Static<typeof ServerPolicy>;

/** GET /api/policy (no auth). */
export const ServerPolicyResponse = Type.Object({
  /** The statement as canonical JSON (keys sorted, no spaces): the exact text that was signed. */
  statement: Type.String({ maxLength: 4096 }),
  /** Ed25519 (RFC 8032) over SERVER_POLICY_CONTEXT + statement (UTF-8), base64. */
  signature: Type.String({ maxLength: 128 }),
  /** The policy key, 32 bytes, base64. */
  publicKey: Type.String({ maxLength: 64 }),
});
export type ServerPolicyResponse = Static<typeof ServerPolicyResponse>;

/** POLICY-1: JSON with object keys sorted and no spaces, so one statement has one text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
