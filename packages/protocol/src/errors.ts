/**
 * Every error Parley puts on the wire, in one registry: a stable code (never reused, never
 * renamed), the HTTP status for REST answers, the WebSocket close code when the error ends the
 * connection (null when the socket stays open and gets an `error` frame), and a message for
 * people. Clients branch on `code`, never on `message`. docs/PROTOCOL.md lists the same table;
 * a test keeps the two in step.
 */
export const ERRORS = {
  // ---- input ----
  malformed_json: { status: 400, wsClose: null, message: "The body is not valid JSON." },
  validation_failed: { status: 400, wsClose: null, message: "The request does not match the schema." },
  body_too_large: { status: 413, wsClose: 1009, message: "The request or frame exceeds the size limit." },
  unsupported_media_type: { status: 415, wsClose: null, message: "Send application/json." },
  too_many_invalid_frames: {
    status: 400,
    wsClose: 1008,
    message: "Too many invalid frames; the connection is closed.",
  },
  binary_frames_unsupported: { status: 400, wsClose: null, message: "Send frames as JSON text." },

  // ---- protocol and connection ----
  unsupported_protocol_version: {
    status: 426,
    wsClose: 4426,
    message: "This server speaks another protocol version.",
  },
  auth_required: { status: 401, wsClose: 4401, message: "The first frame must be an auth frame." },
  auth_timeout: { status: 408, wsClose: 4408, message: "No auth frame within the time limit." },
  origin_forbidden: { status: 403, wsClose: null, message: "This origin may not connect." },
  too_many_connections: {
    status: 429,
    wsClose: 4429,
    message: "Too many open connections for this account.",
  },
  duplicate_login: {
    status: 409,
    wsClose: 4409,
    message: "This account is already connected; this server allows one connection per account.",
  },
  slow_consumer: {
    status: 503,
    wsClose: 4503,
    message: "The connection fell too far behind and was closed.",
  },
  heartbeat_timeout: { status: 408, wsClose: 4000, message: "The connection stopped answering pings." },
  server_shutting_down: { status: 503, wsClose: 1001, message: "The server is shutting down." },

  // ---- authentication and sessions ----
  invalid_credentials: { status: 401, wsClose: null, message: "Wrong username or password." },
  token_invalid: { status: 401, wsClose: 4401, message: "The token is not valid." },
  token_expired: { status: 401, wsClose: 4401, message: "The token has expired; refresh it." },
  session_revoked: { status: 401, wsClose: 1008, message: "The session has ended." },
  refresh_token_invalid: { status: 401, wsClose: null, message: "The refresh token is not valid." },
  account_disabled: { status: 403, wsClose: 1008, message: "This account is disabled." },
  ip_blocked: {
    status: 403,
    wsClose: null,
    message: "Too many failed logins from this address; try again later.",
  },
  account_throttled: {
    status: 429,
    wsClose: null,
    message: "Too many failed logins for this account; wait before trying again.",
  },
  forbidden: { status: 403, wsClose: null, message: "You may not do this." },

  // ---- registration ----
  invalid_username: {
    status: 400,
    wsClose: null,
    message: "Usernames are 3-32 characters: letters, digits, '.', '_' or '-'.",
  },
  username_taken: { status: 409, wsClose: null, message: "That username is taken." },
  password_policy: { status: 400, wsClose: null, message: "The password does not meet the policy." },
  registration_closed: { status: 403, wsClose: null, message: "Registration is closed on this server." },
  invite_required: { status: 403, wsClose: null, message: "Registration needs an invite code." },
  invite_invalid: { status: 403, wsClose: null, message: "The invite code is not valid." },

  // ---- rooms, users, messages ----
  user_not_found: { status: 404, wsClose: null, message: "No such user." },
  room_not_found: { status: 404, wsClose: null, message: "No such room." },
  not_a_member: { status: 403, wsClose: null, message: "You are not a member of this room." },
  not_invited: { status: 403, wsClose: null, message: "This room is private; you need an invite." },
  not_room_owner: { status: 403, wsClose: null, message: "Only the room's owner may do this." },
  target_not_member: { status: 404, wsClose: null, message: "That user is not a member of this room." },
  invalid_target: { status: 400, wsClose: null, message: "That target is not valid here." },
  invalid_text: {
    status: 400,
    wsClose: null,
    message: "Names and topics may not contain control or formatting characters, nor only invisible ones.",
  },
  rate_limited: { status: 429, wsClose: null, message: "Too many requests; slow down." },

  // ---- admin ----
  admin_required: { status: 403, wsClose: null, message: "Only an admin may do this." },
  not_blocked: { status: 404, wsClose: null, message: "That address is not blocked." },

  // ---- MLS delivery service ----
  device_required: {
    status: 400,
    wsClose: null,
    message: "This needs a registered device: authenticate with a deviceId and send device.register.",
  },
  device_key_mismatch: {
    status: 409,
    wsClose: null,
    message: "This device id is bound to another signature key; a new key needs a new device id.",
  },
  key_package_invalid: {
    status: 400,
    wsClose: null,
    message: "A KeyPackage is malformed, badly signed, or not for this account and device.",
  },
  key_packages_full: {
    status: 409,
    wsClose: null,
    message:
      "This device already holds as many KeyPackages as the server keeps; upload when told the supply is low.",
  },
  too_many_devices: {
    status: 409,
    wsClose: null,
    message: "This account has as many devices as the server allows.",
  },
  stale_epoch: {
    status: 409,
    wsClose: null,
    message: "Another Commit was accepted for this epoch; apply it and rebuild yours on top.",
  },
  commit_invalid: { status: 400, wsClose: null, message: "The Commit does not fit this room's group." },
  group_not_found: {
    status: 404,
    wsClose: null,
    message: "This room's group has no state on the server yet.",
  },

  // ---- HTTP generic ----
  not_found: { status: 404, wsClose: null, message: "Not found." },
  method_not_allowed: { status: 405, wsClose: null, message: "Method not allowed." },
  request_timeout: { status: 408, wsClose: null, message: "The request took too long." },
  service_unavailable: {
    status: 503,
    wsClose: 1013,
    message: "A backing service is unavailable; try again shortly.",
  },
  internal_error: { status: 500, wsClose: 1011, message: "Internal error." },
} as const satisfies Record<string, ErrorDefinition>;

export interface ErrorDefinition {
  readonly status: number;
  /** WebSocket close code when this error ends the connection; null when it does not. */
  readonly wsClose: number | null;
  readonly message: string;
}

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERRORS, value);
}
