import { isParleyClientError } from "@parley/client";
import { passwordRefusal, USERNAME_MAX_LENGTH, USERNAME_MIN_LENGTH } from "@parley/protocol";
import { formatBytes } from "../media/file-policy.js";
import { serverInfo } from "./model.js";

/** " (up to 8 MB)", from the server's info, or nothing. */
function filesMax(): string {
  const max = serverInfo.value?.files?.maxBytes;
  return max === undefined ? "" : ` (up to ${formatBytes(max)})`;
}

/** "in 5 min", "in 3 s": how long to wait, rounded up. */
export function waitText(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 90) return `${s} s`;
  return `${Math.ceil(s / 60)} min`;
}

/**
 * A sentence a person can act on, for anything the SDK or the server refused. Codes are
 * stable (docs/PROTOCOL.md, section 10); the server's own message is the fallback.
 */
export function describeError(e: unknown): string {
  if (!isParleyClientError(e)) return "Something went wrong in this page. Reload it and try again.";
  const wait = e.retryAfterMs !== undefined ? ` Try again in ${waitText(e.retryAfterMs)}.` : "";
  switch (e.code) {
    case "invalid_credentials":
      return "Wrong username or password.";
    case "ip_blocked":
      return `Too many failed attempts from this address.${wait || " Try again later."}`;
    case "account_throttled":
      return `Too many failed attempts for this account.${wait || " Wait a moment."}`;
    case "rate_limited":
      return `Slow down:${wait ? ` try again in ${waitText(e.retryAfterMs ?? 0)}.` : " try again in a moment."}`;
    case "username_taken":
      return "That username is taken.";
    case "invalid_username":
      return `Usernames are ${USERNAME_MIN_LENGTH} to ${USERNAME_MAX_LENGTH} characters: letters, digits, '.', '_' or '-'.`;
    case "password_policy":
      return passwordRefusal(e.failedRules ?? [], serverInfo.value?.passwordPolicy);
    case "registration_closed":
      return "This server does not take new accounts.";
    case "invite_required":
    case "invite_invalid":
      return "This server needs a valid invite code to register.";
    case "account_disabled":
      return "This account is disabled.";
    case "reset_code_invalid":
      return "Wrong username or code, or the code was used or has expired. Ask your admin for a new one.";
    case "http_failed":
    case "not_connected":
    case "connection_lost":
    case "timeout":
      return "The server cannot be reached right now.";
    case "user_not_found":
      return "There is no such user.";
    case "room_not_found":
      return "There is no room with that id, and no public room with that name.";
    case "not_invited":
      return "That room is private: you need an invitation.";
    case "room_full":
      return "That room is full: it has as many members as its owner allows.";
    case "passphrase_required":
      return "That room needs its passphrase.";
    case "wrong_passphrase":
      return "That is not the room's passphrase.";
    case "passphrase_throttled":
      return `Too many wrong passphrases.${wait || " Wait a moment."}`;
    case "not_room_moderator":
      return "Only the room's owner or a moderator may do that.";
    case "not_room_owner":
      return "Only the room's owner may do that.";
    case "too_many_invites":
      return "You have too many invitations waiting for an answer; wait for some first.";
    case "ambiguous_room_name":
      return "Several public rooms have that name: use the room's id.";
    case "not_a_member":
      return "You are not a member of that room.";
    case "body_too_large":
      return "That message is too long.";
    case "files_disabled":
      return "This server does not store files.";
    case "file_too_large":
      return `The file is larger than this server takes${filesMax()}.`;
    case "file_type_refused":
      return "This server does not take files of this type.";
    case "file_quota_exceeded":
      return "You have sent as much as this server keeps for you: wait until older files expire.";
    case "file_expired":
      return "This file has expired: the server no longer keeps it.";
    case "file_corrupt":
      return "The file arrived damaged or altered and was discarded.";
    case "file_unreadable":
      return "The file could not be read on this device.";
    case "transfer_cancelled":
      return "Cancelled.";
    default:
      return e.message;
  }
}
