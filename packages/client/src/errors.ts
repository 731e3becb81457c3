/** The SDK's error registry and ParleyClientError, the one error type it throws and reports. */
import { CRYPTO_ERRORS, type CryptoErrorCode, isParleyCryptoError } from "@parley/crypto";
import { type ClientAction, ERRORS, type ErrorCode, isErrorCode } from "@parley/protocol";

/**
 * Failures that start in the SDK itself, in one registry, each with what to do about it (as in
 * the protocol's registry). Server refusals keep the server's code (docs/PROTOCOL.md, section
 * 10) and @parley/crypto's failures keep the crypto code, so a caller branches on one `code`
 * field whatever layer refused. Codes are never reused, and no two registries share one
 * (errors.test.ts), so a code names one failure whichever layer reported it.
 */
export const CLIENT_ERRORS = {
  not_signed_in: { client: "sign_in", message: "Sign in (register, login or resume) first." },
  second_factor_required: {
    client: "report",
    message: "This account signs in with a second step (a TOTP code): use signIn().",
  },
  signed_out: { client: "sign_in", message: "The session ended; sign in again." },
  not_connected: { client: "reconnect", message: "The connection is not open and did not open in time." },
  connection_lost: {
    client: "reconnect",
    message:
      "The connection closed before the server answered; the request may or may not have been carried out.",
  },
  timeout: { client: "report", message: "The server did not answer in time." },
  closed: { client: "give_up", message: "The client was closed." },
  http_failed: { client: "reconnect", message: "The HTTP request failed before an answer arrived." },
  unexpected_answer: { client: "report", message: "The server's answer does not match the protocol." },
  store_tampered: {
    client: "give_up",
    message: "A value in the device store failed authentication: altered, or stored under another key.",
  },
  store_account_mismatch: { client: "give_up", message: "This device store belongs to another account." },
  no_group: {
    client: "report",
    message: "This device holds no group state for the conversation and could not join it.",
  },
  not_in_room: { client: "report", message: "This device is not a member of the room's group." },
  commit_conflict: {
    client: "report",
    message: "The change kept losing to other members' commits; retry later.",
  },
  sender_mismatch: {
    client: "report",
    message: "The server named another sender than the one the message is authenticated as.",
  },
  content_invalid: { client: "report", message: "The decrypted message is not Parley content." },
  listener_failed: { client: "report", message: "An event listener threw." },
  identity_link_required: {
    client: "report",
    message:
      "This account has an identity on other devices: link this device from one of them (startLink), or reset the identity (resetIdentity).",
  },
  link_mismatch: {
    client: "report",
    message: "The new device's key from the server differs from the one in its code: the link was refused.",
  },
  link_cancelled: { client: "report", message: "The device link was cancelled or expired." },
  link_invalid: { client: "report", message: "The device link code is malformed." },
  no_identity: { client: "report", message: "This person has no certified device yet." },
  ambiguous_room_name: {
    client: "report",
    message: "Several public rooms have this name; use the room's id.",
  },
  file_corrupt: {
    client: "report",
    message:
      "The downloaded file failed its checks (a chunk altered, moved, missing or extra, or the wrong SHA-256): nothing of it should be used.",
  },
  transfer_cancelled: { client: "report", message: "The upload or download was cancelled." },
  file_unreadable: { client: "report", message: "The file could not be read or written on this device." },
  message_unknown: {
    client: "report",
    message: "No such message in this conversation on this device (or it was deleted).",
  },
  not_editable: {
    client: "report",
    message: "Only a message's sender can edit or delete it, and edit it only within the edit window.",
  },
} as const satisfies Record<string, { client: ClientAction; message: string }>;

export type ClientErrorCode = keyof typeof CLIENT_ERRORS;

/** Every code a ParleyClientError may carry. */
export type AnyErrorCode = ClientErrorCode | ErrorCode | CryptoErrorCode;

export interface ParleyClientErrorOptions {
  message?: string;
  cause?: unknown;
  /** For `stale_epoch`: the group's epoch on the server. */
  epoch?: number;
  /** For `rate_limited` and similar: how long to wait. */
  retryAfterMs?: number;
  /** The HTTP status, for REST refusals. */
  status?: number;
  /** For `validation_failed`: JSON pointers to what was wrong. */
  details?: readonly string[];
  /** For `password_policy`: the ids of every rule the password failed. */
  failedRules?: readonly string[];
}

/** The one error type the SDK throws and reports; branch on `code`, never on `message`. */
export class ParleyClientError extends Error {
  readonly code: AnyErrorCode;
  readonly epoch: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  readonly details: readonly string[] | undefined;
  readonly failedRules: readonly string[] | undefined;

  constructor(code: AnyErrorCode, options: ParleyClientErrorOptions = {}) {
    super(
      options.message ??
        (Object.hasOwn(CLIENT_ERRORS, code) ? CLIENT_ERRORS[code as ClientErrorCode].message : code),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "ParleyClientError";
    this.code = code;
    this.epoch = options.epoch;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.details = options.details;
    this.failedRules = options.failedRules;
  }
}

/**
 * What to do about a code (see ClientAction): from the protocol's registry or the SDK's;
 * @parley/crypto's failures are `report`. Undefined for a string that is no code, such as a
 * close reason from another server.
 */
export function clientAction(code: string): ClientAction | undefined {
  if (isErrorCode(code)) return ERRORS[code].client;
  if (Object.hasOwn(CLIENT_ERRORS, code)) return CLIENT_ERRORS[code as ClientErrorCode].client;
  if (Object.hasOwn(CRYPTO_ERRORS, code)) return "report";
  return undefined;
}

export function isParleyClientError(e: unknown, code?: AnyErrorCode): e is ParleyClientError {
  return e instanceof ParleyClientError && (code === undefined || e.code === code);
}

/**
 * The connection went away under a request (or was never there): work that is started again on
 * every new connection treats this as "not now", not as a failure to report.
 */
export function isConnectionGone(e: unknown): boolean {
  return (
    e instanceof ParleyClientError &&
    (e.code === "connection_lost" || e.code === "not_connected" || e.code === "closed")
  );
}

/** A server error body (REST or `error` frame) as a ParleyClientError. */
export function fromErrorBody(body: unknown, status?: number): ParleyClientError {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const code = isErrorCode(b.code) ? b.code : "unexpected_answer";
  return new ParleyClientError(code, {
    ...(typeof b.message === "string" ? { message: b.message } : {}),
    ...(typeof b.epoch === "number" ? { epoch: b.epoch } : {}),
    ...(typeof b.retryAfterMs === "number" ? { retryAfterMs: b.retryAfterMs } : {}),
    ...(Array.isArray(b.details) ? { details: b.details.filter((d) => typeof d === "string") } : {}),
    ...(Array.isArray(b.failedRules)
      ? { failedRules: b.failedRules.filter((r) => typeof r === "string") }
      : {}),
    ...(status !== undefined ? { status } : {}),
  });
}

/**
 * Anything caught, as a ParleyClientError for an `error` event: @parley/crypto's errors keep
 * their code; anything else (a bug) is `internal_error` with the original as `cause`.
 */
export function asClientError(e: unknown): ParleyClientError {
  if (e instanceof ParleyClientError) return e;
  if (isParleyCryptoError(e)) return new ParleyClientError(e.code, { message: e.message, cause: e });
  return new ParleyClientError("internal_error", {
    message: e instanceof Error ? e.message : String(e),
    cause: e,
  });
}
