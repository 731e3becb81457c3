import { type Static, type TSchema, Type } from "typebox";
import {
  DeviceIdSchema,
  DeviceRefSchema,
  MemberView,
  Payload,
  RequestId,
  RoomIdSchema,
  RoomView,
  UserIdSchema,
  UserView,
} from "./common.js";
import {
  ACCESS_TOKEN_MAX_LENGTH,
  COMMIT_DEVICES_MAX,
  DISCOVER_PAGE_MAX,
  DISCOVER_QUERY_MAX_LENGTH,
  IDENTITY_RESETS_MAX,
  KEY_PACKAGES_PER_UPLOAD_MAX,
  MESSAGE_ID_PATTERN,
  PRESENCE_BATCH_MAX,
  RECEIPT_IDS_MAX,
  ROOM_MEMBERS_CAP_MAX,
  ROOM_MEMBERS_CAP_MIN,
  ROOM_NAME_MAX_LENGTH,
  ROOM_PASSPHRASE_MAX_LENGTH,
  ROOM_PASSPHRASE_MIN_LENGTH,
  ROOM_TOPIC_MAX_LENGTH,
} from "./limits.js";
import { MlsSuiteSchema } from "./mls-suite.js";

// Every frame is a JSON text message with a `type` tag. Client frames may carry `rid`, which
// the server echoes on the answer (or on the `error` frame) for that request.

const rid = Type.Optional(RequestId);
const frame = <T extends string, P extends Record<string, TSchema>>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), ...props });

// ---------------------------------------------------------------- client -> server

/** WS-1: must be the first frame, within the auth timeout. The token never goes in a URL. */
export const AuthFrame = frame("auth", {
  token: Type.String({ minLength: 1, maxLength: ACCESS_TOKEN_MAX_LENGTH }),
  protocolVersion: Type.Integer({ minimum: 1 }),
  /**
   * MLS-1: the device this connection speaks for. Only a connection with a registered device
   * receives handshake traffic (`mls.handshake`) and may commit.
   */
  deviceId: Type.Optional(DeviceIdSchema),
});
const RoomName = Type.String({ minLength: 1, maxLength: ROOM_NAME_MAX_LENGTH });
const RoomTopic = Type.String({ maxLength: ROOM_TOPIC_MAX_LENGTH });
const MembersCap = Type.Integer({ minimum: ROOM_MEMBERS_CAP_MIN, maximum: ROOM_MEMBERS_CAP_MAX });
const Passphrase = Type.String({
  minLength: ROOM_PASSPHRASE_MIN_LENGTH,
  maxLength: ROOM_PASSPHRASE_MAX_LENGTH,
});
export const RoomCreateFrame = frame("room.create", {
  rid,
  name: RoomName,
  topic: Type.Optional(RoomTopic),
  /**
   * ROOM-2: public rooms are listed by `room.discover` and anyone may join them; private ones
   * (the default) take members by invitation only.
   */
  isPublic: Type.Optional(Type.Boolean()),
  /** ROOM-14: a member cap. */
  maxMembers: Type.Optional(MembersCap),
  /** ROOM-15: joining a public room without an invite needs it; the server keeps only a slow hash. */
  passphrase: Type.Optional(Passphrase),
});
export const RoomInviteFrame = frame("room.invite", { rid, roomId: RoomIdSchema, userId: UserIdSchema });
export const RoomJoinFrame = frame("room.join", {
  rid,
  roomId: RoomIdSchema,
  /** ROOM-15: for a public room that has one, when joining without an invite. */
  passphrase: Type.Optional(Type.String({ minLength: 1, maxLength: ROOM_PASSPHRASE_MAX_LENGTH })),
});
/**
 * ROOM-16: changes a room's settings; fields left out stay. `topic: ""` clears the topic,
 * `maxMembers: null` the cap, `passphrase: null` the passphrase. Name and topic need a moderator,
 * the rest the owner.
 */
export const RoomUpdateFrame = frame("room.update", {
  rid,
  roomId: RoomIdSchema,
  name: Type.Optional(RoomName),
  topic: Type.Optional(RoomTopic),
  isPublic: Type.Optional(Type.Boolean()),
  maxMembers: Type.Optional(Type.Union([MembersCap, Type.Null()])),
  passphrase: Type.Optional(Type.Union([Passphrase, Type.Null()])),
});
/** ROOM-16: the owner makes a member a moderator, or a moderator a member again. */
export const RoomRoleFrame = frame("room.role", {
  rid,
  roomId: RoomIdSchema,
  userId: UserIdSchema,
  role: Type.Union([Type.Literal("moderator"), Type.Literal("member")]),
});
/** ROOM-17: the sender's pending invitations to rooms. */
export const RoomInvitesFrame = frame("room.invites", { rid });
/** ROOM-17: the sender turns an invitation down; the room's members are told. */
export const RoomDeclineFrame = frame("room.decline", { rid, roomId: RoomIdSchema });
/** ROOM-18: the owner deletes the room for everyone. */
export const RoomDeleteFrame = frame("room.delete", { rid, roomId: RoomIdSchema });
export const RoomLeaveFrame = frame("room.leave", { rid, roomId: RoomIdSchema });
export const RoomListFrame = frame("room.list", { rid });
/**
 * ROOM-11: a page of the public-room directory, oldest first: rooms whose name contains `query`
 * (case-insensitive), after the `next` cursor of the previous page, at most `limit` (default 50,
 * at most 100). The answer's `next` is present when there may be more.
 */
export const RoomDiscoverFrame = frame("room.discover", {
  rid,
  query: Type.Optional(Type.String({ maxLength: DISCOVER_QUERY_MAX_LENGTH })),
  after: Type.Optional(Type.String({ pattern: "^[0-9]{1,16}\\.[0-9A-Za-z]{1,64}$", maxLength: 81 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: DISCOVER_PAGE_MAX })),
});
export const RoomMembersFrame = frame("room.members", { rid, roomId: RoomIdSchema });
export const RoomRemoveFrame = frame("room.remove", { rid, roomId: RoomIdSchema, userId: UserIdSchema });
/** ROOM-19: the owner or a moderator bans a user (a member is removed too) until `room.unban`. */
export const RoomBanFrame = frame("room.ban", { rid, roomId: RoomIdSchema, userId: UserIdSchema });
export const RoomUnbanFrame = frame("room.unban", { rid, roomId: RoomIdSchema, userId: UserIdSchema });
/** ROOM-19: the room's bans, for its owner and moderators. */
export const RoomBansFrame = frame("room.bans", { rid, roomId: RoomIdSchema });
export const DirectOpenFrame = frame("direct.open", { rid, userId: UserIdSchema });
/** WS-5: an opaque payload to a room the sender is in, or to one user's devices. */
export const MessageSendFrame = frame("message.send", {
  rid,
  to: Type.Union([Type.Object({ room: RoomIdSchema }), Type.Object({ user: UserIdSchema })]),
  payload: Payload,
});
export const TypingFrame = frame("typing", { roomId: RoomIdSchema, active: Type.Boolean() });
const ReceiptState = Type.Union([Type.Literal("delivered"), Type.Literal("read")]);
const ReceiptIds = Type.Array(Type.String({ pattern: MESSAGE_ID_PATTERN }), {
  minItems: 1,
  maxItems: RECEIPT_IDS_MAX,
});
/**
 * RCPT-1: this device received (`delivered`) or its user saw (`read`) messages of `to` in a
 * room, named by the ids their sender put inside the ciphertext. Relayed as `receipt.event` to
 * the devices of `to`; both users must be members of the room. Needs a device (MLS-1).
 */
export const ReceiptFrame = frame("receipt", {
  roomId: RoomIdSchema,
  to: UserIdSchema,
  ids: ReceiptIds,
  state: ReceiptState,
});
export const SubscribeFrame = frame("subscribe", { rid, userId: UserIdSchema });
export const UnsubscribeFrame = frame("unsubscribe", { rid, userId: UserIdSchema });
export const SubscriptionsListFrame = frame("subscriptions.list", { rid });

// ---- MLS delivery service (RFC 9420 §14, RFC 9750). Binary MLS objects travel as base64.

/**
 * MLS-2: binds a device id and its Ed25519 signature key to the account (the Authentication
 * Service) and uploads its KeyPackages. Idempotent for the same key; a different key for a
 * known device id is refused (`device_key_mismatch`): a new key is a new device.
 */
export const DeviceRegisterFrame = frame("device.register", {
  rid,
  deviceId: DeviceIdSchema,
  signatureKey: Payload,
  keyPackages: Type.Array(Payload, { maxItems: KEY_PACKAGES_PER_UPLOAD_MAX }),
  lastResort: Payload,
});
/** MLS-3: adds KeyPackages for the connection's device (and optionally replaces its last resort). */
export const KeyPackagesUploadFrame = frame("keypackages.upload", {
  rid,
  keyPackages: Type.Array(Payload, { maxItems: KEY_PACKAGES_PER_UPLOAD_MAX }),
  lastResort: Type.Optional(Payload),
});
/** MLS-4: one KeyPackage for each device of a user, consumed (the last resort is reused). */
export const KeyPackagesClaimFrame = frame("keypackages.claim", { rid, userId: UserIdSchema });
/** The devices of a user with copies of their certificates, and the account's identity key (IDENT-1). */
export const DevicesListFrame = frame("devices.list", { rid, userId: UserIdSchema });
/**
 * IDENT-4: the people sharing a room with the caller whose identity reset was announced
 * (`identity.reset`) at or after `since` (server time, ms): what a device that was away missed.
 */
export const IdentityResetsListFrame = frame("identity.resets.list", {
  rid,
  since: Type.Integer({ minimum: 0 }),
});
/**
 * IDENT-5: removes another device of the caller's account. `revocation` is the identity key's
 * signed statement (base64 ParleyDeviceRevocation) naming the device and its signature key.
 */
export const DeviceRemoveFrame = frame("device.remove", {
  rid,
  deviceId: DeviceIdSchema,
  revocation: Type.String({ minLength: 1, maxLength: 1024 }),
});

// ---- Device linking (IDENT-3): an end-to-end channel between two devices of one account,
// relayed by the server, which sees public keys and one sealed payload, never the secret.

/** Crockford base32, 10 characters (50 bits): the link's id and its short code. */
export const LinkIdSchema = Type.String({ pattern: "^[0-9A-HJKMNP-TV-Z]{10}$" });
/** An X25519 public key, base64 (32 bytes). */
const LinkKey = Type.String({ minLength: 43, maxLength: 44, pattern: "^[A-Za-z0-9+/]{43}=?$" });
/** The new device (authenticated with its deviceId, not yet registered) opens a link. */
export const LinkOpenFrame = frame("link.open", { rid, linkId: LinkIdSchema, publicKey: LinkKey });
/** A registered device of the same account joins it, with its own ephemeral key. */
export const LinkJoinFrame = frame("link.join", { rid, linkId: LinkIdSchema, publicKey: LinkKey });
/** The joined device sends the sealed identity to the new device; the link then closes. */
export const LinkSendFrame = frame("link.send", {
  rid,
  linkId: LinkIdSchema,
  payload: Type.String({ minLength: 1, maxLength: 65_536 }),
});
/** Either side gives up; the other gets `link.closed`. */
export const LinkCancelFrame = frame("link.cancel", { rid, linkId: LinkIdSchema });
/**
 * MLS-5: a Commit (PublicMessage) for the room's group at `epoch`. The first Commit for an
 * epoch wins; any other gets `stale_epoch` with the current epoch. A Welcome for the added
 * devices is released only together with its accepted Commit.
 */
export const MlsCommitFrame = frame("mls.commit", {
  rid,
  roomId: RoomIdSchema,
  epoch: Type.Integer({ minimum: 0 }),
  commit: Payload,
  welcome: Type.Optional(Payload),
  /** GroupInfo for the epoch this Commit creates, kept for external joins. */
  groupInfo: Payload,
  addDevices: Type.Optional(Type.Array(DeviceRefSchema, { maxItems: COMMIT_DEVICES_MAX })),
  removeDevices: Type.Optional(Type.Array(DeviceRefSchema, { maxItems: COMMIT_DEVICES_MAX })),
  /** An external Commit: the sending device joins (or rejoins) the group by itself. */
  external: Type.Optional(Type.Boolean()),
});
/** MLS-6: acknowledges queued handshake messages up to and including `seq`. */
export const MlsAckFrame = frame("mls.ack", { upTo: Type.Integer({ minimum: 0 }) });
/** MLS-7: the latest GroupInfo of a room's group, for an external join. */
export const MlsGroupInfoFrame = frame("mls.groupinfo.get", { rid, roomId: RoomIdSchema });
/**
 * RELAY-6: acknowledges queued `message` frames (`queued: true`) up to and including `seq`.
 * Mirrors `mls.ack`: the server deletes them and sends the next page, if any.
 */
export const QueueAckFrame = frame("queue.ack", { upTo: Type.Integer({ minimum: 0 }) });

export const ClientFrame = Type.Union([
  AuthFrame,
  RoomCreateFrame,
  RoomInviteFrame,
  RoomJoinFrame,
  RoomLeaveFrame,
  RoomListFrame,
  RoomDiscoverFrame,
  RoomMembersFrame,
  RoomRemoveFrame,
  RoomBanFrame,
  RoomUnbanFrame,
  RoomBansFrame,
  RoomUpdateFrame,
  RoomRoleFrame,
  RoomInvitesFrame,
  RoomDeclineFrame,
  RoomDeleteFrame,
  DirectOpenFrame,
  MessageSendFrame,
  TypingFrame,
  ReceiptFrame,
  SubscribeFrame,
  UnsubscribeFrame,
  SubscriptionsListFrame,
  DeviceRegisterFrame,
  KeyPackagesUploadFrame,
  KeyPackagesClaimFrame,
  DevicesListFrame,
  IdentityResetsListFrame,
  DeviceRemoveFrame,
  LinkOpenFrame,
  LinkJoinFrame,
  LinkSendFrame,
  LinkCancelFrame,
  MlsCommitFrame,
  MlsAckFrame,
  MlsGroupInfoFrame,
  QueueAckFrame,
]);
export type ClientFrame = Static<typeof ClientFrame>;
export type ClientFrameType = ClientFrame["type"];

// ---------------------------------------------------------------- server -> client

export const ReadyFrame = frame("ready", {
  user: UserView,
  sessionId: Type.String(),
  protocolVersion: Type.Integer(),
  serverTime: Type.Integer(),
  limits: Type.Object({
    maxFrameBytes: Type.Integer(),
    messageRate: Type.Number(),
    messageBurst: Type.Integer(),
  }),
  /** The suite of new groups and KeyPackages (MLS-9), as in /api/info. */
  mlsSuite: MlsSuiteSchema,
});
export const ErrorFrame = frame("error", {
  rid,
  code: Type.String(),
  message: Type.String(),
  retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
  details: Type.Optional(Type.Array(Type.String())),
  /** For `stale_epoch`: the group's current epoch, to rebuild on. */
  epoch: Type.Optional(Type.Integer({ minimum: 0 })),
});
/** Success without data (invite, leave, remove, subscribe, unsubscribe). */
export const OkFrame = frame("ok", { rid });
/** Answer to room.create, room.join and direct.open. */
export const RoomFrame = frame("room", { rid, room: RoomView, members: Type.Array(MemberView) });
export const RoomsFrame = frame("rooms", {
  rid,
  rooms: Type.Array(RoomView),
  /** `room.discover` only: the cursor of the next page, when there may be one. */
  next: Type.Optional(Type.String()),
});
export const MembersFrame = frame("members", { rid, roomId: Type.String(), members: Type.Array(MemberView) });
export const SubscriptionsFrame = frame("subscriptions", {
  rid,
  users: Type.Array(Type.Object({ id: Type.String(), username: Type.String() })),
});
/** WS-6: the server accepted a message.send; `id` and `ts` are what recipients see. */
export const AckFrame = frame("ack", { rid, id: Type.String(), ts: Type.Integer() });
/** A relayed message. `room` for room traffic, `user` (the recipient) for user-to-user traffic. */
export const MessageFrame = frame("message", {
  id: Type.String(),
  ts: Type.Integer(),
  from: Type.Object({ id: Type.String(), username: Type.String() }),
  room: Type.Optional(Type.String()),
  user: Type.Optional(Type.String()),
  /** Set when the recipient got it only because they subscribe to the sender. */
  via: Type.Optional(Type.Literal("subscription")),
  payload: Type.String(),
  /** RELAY-6: delivered from the offline queue (the device was offline when it was sent). */
  queued: Type.Optional(Type.Literal(true)),
  /** RELAY-6: the entry's place in this device's offline queue, for `queue.ack`. */
  seq: Type.Optional(Type.Integer({ minimum: 1 })),
});
export const PresenceFrame = frame("presence", {
  userId: Type.String(),
  username: Type.String(),
  online: Type.Boolean(),
});
/** PRES-1: several users' changes at once (a burst of connections), each as in `presence`. */
export const PresenceBatchFrame = frame("presence.batch", {
  users: Type.Array(Type.Object({ userId: Type.String(), username: Type.String(), online: Type.Boolean() }), {
    minItems: 1,
    maxItems: PRESENCE_BATCH_MAX,
  }),
});
const UserRef = Type.Object({ id: Type.String(), username: Type.String() });
/** ROOM-9: what changed in a room, for every member's conversation. */
export const RoomEventFrame = frame("room.event", {
  roomId: Type.String(),
  event: Type.Union([
    Type.Literal("joined"),
    Type.Literal("left"),
    Type.Literal("removed"),
    Type.Literal("invited"),
    /** ROOM-13, ROOM-18: the room was deleted; `userId`/`username` name who deleted it. */
    Type.Literal("deleted"),
    /** ROOM-17: `userId` turned the invitation down. */
    Type.Literal("declined"),
    /** ROOM-16: `userId` changed the settings named in `changes`; `room` is the room now. */
    Type.Literal("updated"),
    /** ROOM-16: `userId` has the role `role` now, given by `by`. */
    Type.Literal("role"),
    /** ROOM-19: `by` banned `userId` (and removed them when they were a member). */
    Type.Literal("banned"),
    /** ROOM-19: `by` lifted `userId`'s ban. */
    Type.Literal("unbanned"),
    /** ROOM-20: `userId` owns the room now (its owner left or deleted their account). */
    Type.Literal("owner"),
    /** ACCT-4: `userId`'s account was deleted (by an admin when `by` is there); they left every room. */
    Type.Literal("account_deleted"),
  ]),
  userId: Type.String(),
  username: Type.String(),
  /** Who did it, when someone else than `userId` did: the inviter, the remover, the owner. */
  by: Type.Optional(UserRef),
  room: Type.Optional(RoomView),
  changes: Type.Optional(
    Type.Array(
      Type.Union([
        Type.Literal("name"),
        Type.Literal("topic"),
        Type.Literal("privacy"),
        Type.Literal("cap"),
        Type.Literal("passphrase"),
      ]),
    ),
  ),
  role: Type.Optional(Type.Union([Type.Literal("moderator"), Type.Literal("member")])),
  /** Server time of the change (ms). */
  ts: Type.Optional(Type.Integer()),
});
/** ROOM-19: answer to `room.bans`, oldest first. */
export const BansFrame = frame("bans", {
  rid,
  roomId: Type.String(),
  bans: Type.Array(
    Type.Object({ user: UserRef, by: Type.Union([UserRef, Type.Null()]), ts: Type.Integer() }),
  ),
});
/** Sent to a user who was invited to a room, on each of their devices. */
export const InvitedFrame = frame("invited", { room: RoomView, by: UserRef });
/** ROOM-17: answer to `room.invites`, newest last. */
export const InvitesFrame = frame("invites", {
  rid,
  invites: Type.Array(Type.Object({ room: RoomView, by: UserRef, ts: Type.Integer() })),
});
export const TypingEventFrame = frame("typing.event", {
  roomId: Type.String(),
  userId: Type.String(),
  username: Type.String(),
  active: Type.Boolean(),
});
/** RCPT-2: a `receipt` relayed to the devices of its `to`, stamped by the server with who sent it. */
export const ReceiptEventFrame = frame("receipt.event", {
  roomId: Type.String(),
  from: DeviceRefSchema,
  ids: ReceiptIds,
  state: ReceiptState,
});

/** Answer to keypackages.claim: one KeyPackage per device of the user that has one. */
export const KeyPackagesFrame = frame("keypackages", {
  rid,
  userId: Type.String(),
  devices: Type.Array(
    Type.Object({ deviceId: Type.String(), signatureKey: Type.String(), keyPackage: Type.String() }),
  ),
});
/** Answer to keypackages.upload and device.register; also pushed when the supply runs low. */
export const KeyPackagesCountFrame = frame("keypackages.count", {
  rid,
  remaining: Type.Integer({ minimum: 0 }),
  /** True when the device should upload more (MLS-3). */
  low: Type.Boolean(),
});
export const DevicesFrame = frame("devices", {
  rid,
  userId: Type.String(),
  /** The identity key the account's first device registered (base64), null before any. */
  identityKey: Type.Union([Type.String(), Type.Null()]),
  devices: Type.Array(
    Type.Object({
      deviceId: Type.String(),
      signatureKey: Type.String(),
      createdAt: Type.Integer(),
      /** The device certificate (base64), as in its MLS credential. */
      certificate: Type.Optional(Type.String()),
    }),
  ),
  /** IDENT-5: the account's removed devices with their signed revocations (base64). */
  revoked: Type.Optional(Type.Array(Type.Object({ deviceId: Type.String(), revocation: Type.String() }))),
});
/**
 * IDENT-5: pushed to the account's other devices and to every user sharing a room with it when
 * one of its devices was removed; clients check the revocation against the identity key.
 */
export const DeviceRemovedFrame = frame("device.removed", {
  userId: Type.String(),
  deviceId: Type.String(),
  revocation: Type.String(),
});
/**
 * IDENT-4: pushed to every user sharing a room with `userId` when the first device under that
 * person's new identity key (after an identity reset) registered. A hint, with no key: clients
 * fetch the person's devices and check them against the key they pinned.
 */
export const IdentityResetFrame = frame("identity.reset", { userId: UserIdSchema });
/** Answer to identity.resets.list: the people to look up, each a hint as `identity.reset` is. */
export const IdentityResetsFrame = frame("identity.resets", {
  rid,
  userIds: Type.Array(UserIdSchema, { maxItems: IDENTITY_RESETS_MAX }),
});
/** Answer to link.open: the link waits for a device of the account until `expiresAt`. */
export const LinkOpenedFrame = frame("link.opened", {
  rid,
  linkId: Type.String(),
  expiresAt: Type.Integer(),
});
/** Answer to link.join: the new device's key and id. */
export const LinkPeerFrame = frame("link.peer", {
  rid,
  linkId: Type.String(),
  publicKey: Type.String(),
  deviceId: Type.String(),
});
/** Pushed to the new device when a device of the account joined its link. */
export const LinkJoinedFrame = frame("link.joined", {
  linkId: Type.String(),
  publicKey: Type.String(),
  deviceId: Type.String(),
});
/** Pushed to the new device: the sealed payload. */
export const LinkPayloadFrame = frame("link.payload", { linkId: Type.String(), payload: Type.String() });
/** Pushed to the other side when a link is cancelled or expires. */
export const LinkClosedFrame = frame("link.closed", { linkId: Type.String() });
/** Answer to an accepted mls.commit: the epoch it created. */
export const MlsAcceptedFrame = frame("mls.accepted", { rid, roomId: Type.String(), epoch: Type.Integer() });
/**
 * MLS-8: a queued handshake message for this device, in the group's total order. It stays
 * queued (also across reconnects and server restarts) until the device sends `mls.ack`.
 */
export const MlsHandshakeFrame = frame("mls.handshake", {
  seq: Type.Integer(),
  roomId: Type.String(),
  kind: Type.Union([Type.Literal("commit"), Type.Literal("welcome")]),
  epoch: Type.Integer(),
  from: DeviceRefSchema,
  payload: Type.String(),
});
/**
 * RELAY-6: sent once after `auth` (before the queued messages) when the offline queue dropped
 * entries for this device: `dropped` oldest ones went because the queue was full.
 */
export const QueueMissedFrame = frame("queue.missed", { dropped: Type.Integer({ minimum: 1 }) });
export const MlsGroupInfoAnswerFrame = frame("mls.groupinfo", {
  rid,
  roomId: Type.String(),
  epoch: Type.Integer(),
  groupInfo: Type.String(),
});

export const ServerFrame = Type.Union([
  ReadyFrame,
  ErrorFrame,
  OkFrame,
  RoomFrame,
  RoomsFrame,
  MembersFrame,
  SubscriptionsFrame,
  AckFrame,
  MessageFrame,
  PresenceFrame,
  PresenceBatchFrame,
  RoomEventFrame,
  InvitedFrame,
  InvitesFrame,
  BansFrame,
  TypingEventFrame,
  ReceiptEventFrame,
  KeyPackagesFrame,
  KeyPackagesCountFrame,
  DevicesFrame,
  DeviceRemovedFrame,
  IdentityResetFrame,
  IdentityResetsFrame,
  LinkOpenedFrame,
  LinkPeerFrame,
  LinkJoinedFrame,
  LinkPayloadFrame,
  LinkClosedFrame,
  MlsAcceptedFrame,
  MlsHandshakeFrame,
  MlsGroupInfoAnswerFrame,
  QueueMissedFrame,
]);
export type ServerFrame = Static<typeof ServerFrame>;
export type ServerFrameType = ServerFrame["type"];
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;
export type ClientFrameOf<T extends ClientFrameType> = Extract<ClientFrame, { type: T }>;

/**
 * PROTO-4: the schema of each frame type, taken once from the unions above. A frame's `type`
 * picks the one schema to check it against, so an error points at the field that is wrong
 * instead of at every branch of the union, and an unknown type is recognised as such.
 */
export const CLIENT_FRAME_SCHEMAS: ReadonlyMap<string, (typeof ClientFrame.anyOf)[number]> = new Map(
  ClientFrame.anyOf.map((schema) => [schema.properties.type.const, schema]),
);
export const SERVER_FRAME_SCHEMAS: ReadonlyMap<string, (typeof ServerFrame.anyOf)[number]> = new Map(
  ServerFrame.anyOf.map((schema) => [schema.properties.type.const, schema]),
);
