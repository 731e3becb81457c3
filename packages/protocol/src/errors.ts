/**
 * Every error Parley puts on the wire, in one registry: a stable code (never reused, never
 * renamed), the HTTP status for REST answers, the WebSocket close code when the error ends the
 * connection (null when the socket stays open and gets an `error` frame), what a client does
 * about it (`client`, see ClientAction), and a message for people. Clients branch on `code`, never on `message`. docs/PROTOCOL.md lists the same table;
 * a test keeps the two in step.
 */
export const ERRORS = {
  // ---- input ----
  malformed_json: { status: 400, wsClose: null, client: "report", message: "The body is not valid JSON." },
  validation_failed: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "The request does not match the schema.",
  },
  body_too_large: {
    status: 413,
    wsClose: 1009,
    client: "reconnect",
    message: "The request or frame exceeds the size limit.",
  },
  unsupported_media_type: { status: 415, wsClose: null, client: "report", message: "Send application/json." },
  too_many_invalid_frames: {
    status: 400,
    wsClose: 1008,
    client: "give_up",
    message: "Too many invalid frames; the connection is closed.",
  },
  binary_frames_unsupported: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "Send frames as JSON text.",
  },

  // ---- protocol and connection ----
  unsupported_protocol_version: {
    status: 426,
    wsClose: 4426,
    client: "give_up",
    message: "This server speaks another protocol version.",
  },
  auth_required: {
    status: 401,
    wsClose: 4401,
    client: "reconnect",
    message: "The first frame must be an auth frame.",
  },
  auth_timeout: {
    status: 408,
    wsClose: 4408,
    client: "reconnect",
    message: "No auth frame within the time limit.",
  },
  origin_forbidden: {
    status: 403,
    wsClose: null,
    client: "give_up",
    message: "This origin may not connect.",
  },
  too_many_connections: {
    status: 429,
    wsClose: 4429,
    client: "reconnect",
    message: "Too many open connections for this account.",
  },
  duplicate_login: {
    status: 409,
    wsClose: 4409,
    client: "reconnect",
    message: "This account is already connected; this server allows one connection per account.",
  },
  slow_consumer: {
    status: 503,
    wsClose: 4503,
    client: "reconnect",
    message: "The connection fell too far behind and was closed.",
  },
  heartbeat_timeout: {
    status: 408,
    wsClose: 4000,
    client: "reconnect",
    message: "The connection stopped answering pings.",
  },
  server_shutting_down: {
    status: 503,
    wsClose: 1001,
    client: "reconnect",
    message: "The server is shutting down.",
  },

  // ---- authentication and sessions ----
  invalid_credentials: {
    status: 401,
    wsClose: null,
    client: "report",
    message: "Wrong username or password.",
  },
  token_invalid: { status: 401, wsClose: 4401, client: "refresh", message: "The token is not valid." },
  token_expired: {
    status: 401,
    wsClose: 4401,
    client: "refresh",
    message: "The token has expired; refresh it.",
  },
  session_revoked: { status: 401, wsClose: 1008, client: "sign_in", message: "The session has ended." },
  refresh_token_invalid: {
    status: 401,
    wsClose: null,
    client: "sign_in",
    message: "The refresh token is not valid.",
  },
  account_disabled: { status: 403, wsClose: 1008, client: "give_up", message: "This account is disabled." },
  session_ended: {
    status: 401,
    wsClose: 1008,
    client: "sign_in",
    message: "This session was ended from another session of the account, or by an admin.",
  },
  session_not_found: {
    status: 404,
    wsClose: null,
    client: "report",
    message: "This account has no such live session.",
  },
  account_deleted: {
    status: 401,
    wsClose: 1008,
    client: "sign_in",
    message: "This account was deleted.",
  },
  ip_blocked: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "Too many failed logins from this address; try again later.",
  },
  account_throttled: {
    status: 429,
    wsClose: null,
    client: "report",
    message: "Too many failed logins for this account; wait before trying again.",
  },
  forbidden: { status: 403, wsClose: null, client: "report", message: "You may not do this." },
  totp_invalid: {
    status: 401,
    wsClose: null,
    client: "report",
    message: "Wrong, used or expired authenticator code.",
  },
  login_challenge_invalid: {
    status: 401,
    wsClose: null,
    client: "report",
    message: "The sign-in step has expired or was used up; sign in with your password again.",
  },
  totp_already_enabled: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "Two-step sign-in is already on for this account.",
  },
  totp_not_enabled: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "Two-step sign-in is not on for this account.",
  },
  totp_required: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "This server requires two-step sign-in for this account; it cannot be turned off.",
  },

  // ---- registration ----
  invalid_username: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "Usernames are 3-32 characters: letters, digits, '.', '_' or '-'.",
  },
  username_taken: { status: 409, wsClose: null, client: "report", message: "That username is taken." },
  password_policy: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "The password does not meet the policy.",
  },
  registration_closed: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "Registration is closed on this server.",
  },
  invite_required: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "Registration needs an invite code.",
  },
  invite_invalid: { status: 403, wsClose: null, client: "report", message: "The invite code is not valid." },
  reset_code_invalid: {
    status: 401,
    wsClose: null,
    client: "report",
    message: "Wrong username or code, or the code is used or expired.",
  },

  // ---- rooms, users, messages ----
  user_not_found: { status: 404, wsClose: null, client: "report", message: "No such user." },
  room_not_found: { status: 404, wsClose: null, client: "report", message: "No such room." },
  not_a_member: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "You are not a member of this room.",
  },
  recipient_not_member: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "The user a receipt is for is not a member of this room.",
  },
  not_invited: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "This room is private; you need an invite.",
  },
  not_room_owner: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "Only the room's owner may do this.",
  },
  target_not_member: {
    status: 404,
    wsClose: null,
    client: "report",
    message: "That user is not a member of this room.",
  },
  not_room_moderator: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "Only the room's owner or a moderator may do this.",
  },
  room_full: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "This room has as many members as its owner allows.",
  },
  passphrase_required: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "This room needs its passphrase to join.",
  },
  wrong_passphrase: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "That is not the room's passphrase.",
  },
  passphrase_throttled: {
    status: 429,
    wsClose: null,
    client: "report",
    message: "Too many wrong room passphrases; wait before trying again.",
  },
  too_many_invites: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "You have as many unanswered invitations out as the server allows; wait for answers first.",
  },
  banned_from_room: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "That person is banned from this room until a moderator lifts the ban.",
  },
  invite_refused: {
    status: 403,
    wsClose: null,
    client: "report",
    message: "This person cannot be invited by you.",
  },
  too_many_blocks: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "Your block list is as long as the server allows.",
  },
  invalid_target: { status: 400, wsClose: null, client: "report", message: "That target is not valid here." },
  invalid_text: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "Names and topics may not contain control or formatting characters, nor only invisible ones.",
  },
  rate_limited: { status: 429, wsClose: null, client: "retry", message: "Too many requests; slow down." },

  // ---- admin ----
  admin_required: { status: 403, wsClose: null, client: "report", message: "Only an admin may do this." },
  not_blocked: { status: 404, wsClose: null, client: "report", message: "That address is not blocked." },
  invite_not_found: { status: 404, wsClose: null, client: "report", message: "No such invite." },
  last_admin: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "This is the last admin; make someone else an admin first.",
  },

  // ---- MLS delivery service ----
  device_required: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "This needs a registered device: authenticate with a deviceId and send device.register.",
  },
  device_key_mismatch: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "This device id is bound to another signature key; a new key needs a new device id.",
  },
  key_package_invalid: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "A KeyPackage is malformed, badly signed, or not for this account and device.",
  },
  key_packages_full: {
    status: 409,
    wsClose: null,
    client: "report",
    message:
      "This device already holds as many KeyPackages as the server keeps; upload when told the supply is low.",
  },
  identity_key_mismatch: {
    status: 409,
    wsClose: null,
    client: "report",
    message:
      "This device is certified by another identity key than the account's: link it from a device of this account, or reset the identity.",
  },
  device_removed: {
    status: 401,
    wsClose: 1008,
    client: "sign_in",
    message: "This device was removed from the account by another of its devices.",
  },
  device_not_found: {
    status: 404,
    wsClose: null,
    client: "report",
    message: "This account has no such device.",
  },
  revocation_invalid: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "The revocation is not the account identity key's signature over this device and its key.",
  },
  link_not_found: {
    status: 404,
    wsClose: null,
    client: "report",
    message: "No open device link has this code for this account: it is mistyped, expired or used.",
  },
  link_in_use: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "This device link is already being completed by another device, or is not at this step.",
  },
  too_many_links: {
    status: 429,
    wsClose: null,
    client: "report",
    message: "This account has as many open device links as the server allows; finish or cancel one.",
  },
  too_many_rooms: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "You own as many rooms as the server allows; delete or hand over one first.",
  },
  too_many_devices: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "This account has as many devices as the server allows.",
  },
  stale_epoch: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "Another Commit was accepted for this epoch; apply it and rebuild yours on top.",
  },
  commit_invalid: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "The Commit does not fit this room's group.",
  },
  group_not_found: {
    status: 404,
    wsClose: null,
    client: "report",
    message: "This room's group has no state on the server yet.",
  },
  mls_suite_mismatch: {
    status: 400,
    wsClose: null,
    client: "report",
    message:
      "The MLS cipher suite is not the one required: KeyPackages and new groups use the server's suite (/api/info mlsSuite), an existing group keeps its own.",
  },

  // ---- files ----
  files_disabled: {
    status: 404,
    wsClose: null,
    client: "report",
    message: "This server does not store files (PARLEY_FILES=off).",
  },
  file_too_large: {
    status: 413,
    wsClose: null,
    client: "report",
    message: "The file is larger than this server allows (/api/info files.maxBytes).",
  },
  file_type_refused: {
    status: 415,
    wsClose: null,
    client: "report",
    message: "This server does not accept files of this type (/api/info files.types).",
  },
  file_quota_exceeded: {
    status: 413,
    wsClose: null,
    client: "report",
    message: "The account's files would exceed its storage quota; wait until older ones expire.",
  },
  file_expired: {
    status: 410,
    wsClose: null,
    client: "report",
    message: "The file expired or was deleted (view once); the server no longer has it.",
  },
  file_incomplete: {
    status: 409,
    wsClose: null,
    client: "report",
    message: "The file's upload has not finished yet.",
  },
  upload_offset_mismatch: {
    status: 409,
    wsClose: null,
    client: "report",
    message:
      "The upload does not continue where the server's copy ends (Upload-Offset); ask for the offset and resume there.",
  },
  range_not_satisfiable: {
    status: 416,
    wsClose: null,
    client: "report",
    message: "The Range header is malformed or outside the file.",
  },
  upload_overrun: {
    status: 400,
    wsClose: null,
    client: "report",
    message: "The upload carries more bytes than the file announced.",
  },

  // ---- HTTP generic ----
  not_found: { status: 404, wsClose: null, client: "report", message: "Not found." },
  method_not_allowed: { status: 405, wsClose: null, client: "report", message: "Method not allowed." },
  request_timeout: { status: 408, wsClose: null, client: "report", message: "The request took too long." },
  service_unavailable: {
    status: 503,
    wsClose: 1013,
    client: "reconnect",
    message: "A backing service is unavailable; try again shortly.",
  },
  storage_full: {
    status: 507,
    wsClose: null,
    client: "report",
    message: "The server is out of storage space, so nothing was saved. Tell the server's operator.",
  },
  internal_error: { status: 500, wsClose: 1011, client: "reconnect", message: "Internal error." },
} as const satisfies Record<string, ErrorDefinition>;

export interface ErrorDefinition {
  readonly status: number;
  /** WebSocket close code when this error ends the connection; null when it does not. */
  readonly wsClose: number | null;
  /** What a client does about it (docs/PROTOCOL.md, section 10). */
  readonly client: ClientAction;
  readonly message: string;
}

/**
 * What a client does about an error, so that clients decide by the registry instead of by
 * lists of code strings of their own:
 * - `retry`: the request was not carried out; send it again after `retryAfterMs`.
 * - `reconnect`: when it closes the connection, open a new one with backoff (as the answer to
 *   a request, the request failed: report it).
 * - `refresh`: the access token is no good; get a new one (AUTH-6), then reconnect.
 * - `sign_in`: the session is over; do not reconnect, ask the person to sign in again.
 * - `give_up`: trying again cannot help (another protocol version, a disabled account, a
 *   client that sends broken frames); stop and say why.
 * - `report`: the request failed for a reason the caller or the person must deal with; sending
 *   it again unchanged gets the same answer.
 */
export type ClientAction = "retry" | "reconnect" | "refresh" | "sign_in" | "give_up" | "report";

export const CLIENT_ACTIONS: readonly ClientAction[] = [
  "retry",
  "reconnect",
  "refresh",
  "sign_in",
  "give_up",
  "report",
];

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERRORS, value);
}
