import { type Static, type TSchema, Type } from "typebox";
import { MemberView, Payload, RequestId, RoomIdSchema, RoomView, UserIdSchema, UserView } from "./common.js";

// Every frame is a JSON text message with a `type` tag. Client frames may carry `rid`, which
// the server echoes on the answer (or on the `error` frame) for that request.

const rid = Type.Optional(RequestId);
const frame = <T extends string, P extends Record<string, TSchema>>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), ...props });

// ---------------------------------------------------------------- client -> server

/** WS-1: must be the first frame, within the auth timeout. The token never goes in a URL. */
export const AuthFrame = frame("auth", {
  token: Type.String({ minLength: 1, maxLength: 4096 }),
  protocolVersion: Type.Integer({ minimum: 1 }),
});
export const RoomCreateFrame = frame("room.create", {
  rid,
  name: Type.String({ minLength: 1, maxLength: 64 }),
  topic: Type.Optional(Type.String({ maxLength: 256 })),
  /** Public rooms can be joined by id and are listed by `room.discover`; default true. */
  isPublic: Type.Optional(Type.Boolean()),
});
export const RoomInviteFrame = frame("room.invite", { rid, roomId: RoomIdSchema, userId: UserIdSchema });
export const RoomJoinFrame = frame("room.join", { rid, roomId: RoomIdSchema });
export const RoomLeaveFrame = frame("room.leave", { rid, roomId: RoomIdSchema });
export const RoomListFrame = frame("room.list", { rid });
export const RoomDiscoverFrame = frame("room.discover", { rid });
export const RoomMembersFrame = frame("room.members", { rid, roomId: RoomIdSchema });
export const RoomRemoveFrame = frame("room.remove", { rid, roomId: RoomIdSchema, userId: UserIdSchema });
export const DirectOpenFrame = frame("direct.open", { rid, userId: UserIdSchema });
/** WS-5: an opaque payload to a room the sender is in, or to one user's devices. */
export const MessageSendFrame = frame("message.send", {
  rid,
  to: Type.Union([Type.Object({ room: RoomIdSchema }), Type.Object({ user: UserIdSchema })]),
  payload: Payload,
});
export const TypingFrame = frame("typing", { roomId: RoomIdSchema, active: Type.Boolean() });
export const SubscribeFrame = frame("subscribe", { rid, userId: UserIdSchema });
export const UnsubscribeFrame = frame("unsubscribe", { rid, userId: UserIdSchema });
export const SubscriptionsListFrame = frame("subscriptions.list", { rid });

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
  DirectOpenFrame,
  MessageSendFrame,
  TypingFrame,
  SubscribeFrame,
  UnsubscribeFrame,
  SubscriptionsListFrame,
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
});
export const ErrorFrame = frame("error", {
  rid,
  code: Type.String(),
  message: Type.String(),
  retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
  details: Type.Optional(Type.Array(Type.String())),
});
/** Success without data (invite, leave, remove, subscribe, unsubscribe). */
export const OkFrame = frame("ok", { rid });
/** Answer to room.create, room.join and direct.open. */
export const RoomFrame = frame("room", { rid, room: RoomView, members: Type.Array(MemberView) });
export const RoomsFrame = frame("rooms", { rid, rooms: Type.Array(RoomView) });
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
});
export const PresenceFrame = frame("presence", {
  userId: Type.String(),
  username: Type.String(),
  online: Type.Boolean(),
});
export const RoomEventFrame = frame("room.event", {
  roomId: Type.String(),
  event: Type.Union([
    Type.Literal("joined"),
    Type.Literal("left"),
    Type.Literal("removed"),
    Type.Literal("invited"),
  ]),
  userId: Type.String(),
  username: Type.String(),
});
/** Sent to a user who was invited to a room, on each of their devices. */
export const InvitedFrame = frame("invited", {
  room: RoomView,
  by: Type.Object({ id: Type.String(), username: Type.String() }),
});
export const TypingEventFrame = frame("typing.event", {
  roomId: Type.String(),
  userId: Type.String(),
  username: Type.String(),
  active: Type.Boolean(),
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
  RoomEventFrame,
  InvitedFrame,
  TypingEventFrame,
]);
export type ServerFrame = Static<typeof ServerFrame>;
export type ServerFrameType = ServerFrame["type"];
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;
export type ClientFrameOf<T extends ClientFrameType> = Extract<ClientFrame, { type: T }>;
