/**
 * The protocol's fixed limits, named once. The schemas in this package are built from them, and
 * servers, clients and tests that need a limit import it from here instead of repeating the
 * number. Limits an operator may change (frame size, rates) are settings; their defaults are here
 * and a server announces the values it uses in `ready.limits` and `/api/info`.
 */

/** PROTO-5: a request id (`rid`) is 1-64 characters. */
export const REQUEST_ID_MAX_LENGTH = 64;
/** Account ids on the wire: 1-64 characters. */
export const USER_ID_MAX_LENGTH = 64;
/** MLS-1: a device id is 1-64 URL-safe characters. */
export const DEVICE_ID_MAX_LENGTH = 64;
/** AUTH-1: a username is 3-32 characters once normalised. */
export const USERNAME_MIN_LENGTH = 3;
export const USERNAME_MAX_LENGTH = 32;
/** What the login and register schemas accept before AUTH-1 looks at a username. */
export const USERNAME_INPUT_MAX_LENGTH = 64;
/** A password field is at most this many characters on the wire (the policy may allow fewer). */
export const PASSWORD_INPUT_MAX_LENGTH = 1024;
/** An invite code field, as typed. */
export const INVITE_CODE_MAX_LENGTH = 64;
/** A refresh token on the wire. */
export const REFRESH_TOKEN_MAX_LENGTH = 256;
/** WS-1: an access token in the `auth` frame. */
export const ACCESS_TOKEN_MAX_LENGTH = 4096;
/** `room.create`: a room's name (after trimming) and topic. */
export const ROOM_NAME_MAX_LENGTH = 64;
export const ROOM_TOPIC_MAX_LENGTH = 256;
/** ROOM-11: public rooms in one `room.discover` answer, at most and by default; its query's length. */
export const DISCOVER_PAGE_MAX = 100;
export const DISCOVER_PAGE_DEFAULT = 50;
export const DISCOVER_QUERY_MAX_LENGTH = 64;
/** Default of PARLEY_MAX_ROOMS_PER_USER: rooms one account may own (ROOM-12). */
export const DEFAULT_MAX_ROOMS_PER_USER = 100;
/** ROOM-14: a room's member cap (`maxMembers`), smallest and largest. */
export const ROOM_MEMBERS_CAP_MIN = 2;
export const ROOM_MEMBERS_CAP_MAX = 100_000;
/** ROOM-15: a room's join passphrase, in characters. */
export const ROOM_PASSPHRASE_MIN_LENGTH = 4;
export const ROOM_PASSPHRASE_MAX_LENGTH = 256;
/** ACCT-6: people one account may block. */
export const MAX_BLOCKED_USERS = 1000;
/** Default of PARLEY_MAX_PENDING_INVITES: room invitations one account may have out unanswered (ROOM-17). */
export const DEFAULT_MAX_PENDING_INVITES = 100;
/** MLS-2, MLS-3: KeyPackages in one `device.register` or `keypackages.upload`. */
export const KEY_PACKAGES_PER_UPLOAD_MAX = 100;
/** MLS-5: devices one Commit may declare it adds, or removes. */
export const COMMIT_DEVICES_MAX = 1000;
/** IDENT-4: people one `identity.resets` answer names (the most recent resets first). */
export const IDENTITY_RESETS_MAX = 64;
/** PRES-1: users in one `presence.batch` frame. */
export const PRESENCE_BATCH_MAX = 500;
/** RCPT-1: message ids one `receipt` frame may acknowledge. */
export const RECEIPT_IDS_MAX = 100;
/** RCPT-1: a message id (chosen by the sending client, inside the ciphertext) is 128 bits in hex. */
export const MESSAGE_ID_PATTERN = "^[0-9a-f]{32}$";
/** Default of PARLEY_MAX_FRAME_BYTES: the largest WebSocket frame a server accepts (256 KiB). */
export const DEFAULT_MAX_FRAME_BYTES = 262_144;
/** Invite lifetimes an admin may ask for, in hours (30 days at most); the default. */
export const INVITE_TTL_HOURS_MAX = 720;
export const INVITE_TTL_HOURS_DEFAULT = 72;
