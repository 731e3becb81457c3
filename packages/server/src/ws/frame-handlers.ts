// The dispatch table: for each client frame type after `auth`, the domain call and its answer frame.
import type { ClientFrameOf, ClientFrameType } from "@parley/protocol";
import type { AuthContext } from "../domain/accounts.js";
import type { DeliveryService } from "../domain/delivery.js";
import { ParleyError } from "../domain/errors.js";
import { asUserId } from "../domain/ids.js";
import type { LinkRelay } from "../domain/link-relay.js";
import type { Relay } from "../domain/relay.js";
import type { RoomService } from "../domain/rooms.js";
import type { SubscriptionService } from "../domain/subscriptions.js";
import { ackFrame } from "./ack-frame.js";
import type { Connection } from "./connection.js";

/** The domain services the handlers call. */
export interface FrameDomain {
  delivery: DeliveryService;
  links: LinkRelay;
  rooms: RoomService;
  relay: Relay;
  subscriptions: SubscriptionService;
}

/** An authenticated connection and its user. */
export interface FrameContext {
  conn: Connection;
  auth: AuthContext;
}

export interface FrameHandler<T extends ClientFrameType> {
  /** Frame tokens (LIMIT-2) the frame costs; 1 when absent. */
  cost?: (frame: ClientFrameOf<T>) => number;
  /** Returns a promise only when it has to wait (WS-4 then holds the connection's next frame). */
  handle: (d: FrameDomain, c: FrameContext, frame: ClientFrameOf<T>) => Promise<void> | undefined | void;
}

export type FrameHandlers = { [T in Exclude<ClientFrameType, "auth">]: FrameHandler<T> };

/** The answer's `rid`: the request's, when it had one (PROTO-5). */
function rid(frame: { rid?: string }): { rid?: string } {
  return frame.rid !== undefined ? { rid: frame.rid } : {};
}

/** The connection's device stream; frames about a device need one (MLS-6, RELAY-6). */
function streamOf(conn: Connection) {
  if (!conn.stream) throw new ParleyError("device_required");
  return conn.stream;
}

export const FRAME_HANDLERS: FrameHandlers = {
  "message.send": {
    // The relay's hot path: synchronous when the room's members are in memory (Relay.toRoom).
    handle(d, { conn, auth }, frame) {
      const to = frame.to;
      const sent =
        "room" in to
          ? d.relay.toRoom(auth, conn.id, to.room, frame.payload)
          : d.relay.toUser(auth, conn.id, asUserId(to.user), frame.payload);
      if (sent instanceof Promise) return sent.then((s) => conn.sendRaw(ackFrame(frame.rid, s)));
      conn.sendRaw(ackFrame(frame.rid, sent));
      return undefined;
    },
  },
  typing: {
    handle: (d, { conn, auth }, frame) => d.relay.typing(auth, conn.id, frame.roomId, frame.active),
  },
  receipt: {
    handle: (d, { conn, auth }, frame) => {
      if (conn.deviceId === null) throw new ParleyError("device_required");
      return d.relay.receipt(auth, conn.id, conn.deviceId, { ...frame, to: asUserId(frame.to) });
    },
  },
  "room.create": {
    async handle(d, { conn, auth }, frame) {
      const { rid: _rid, type: _type, ...input } = frame;
      const result = await d.rooms.create(auth, input);
      conn.send({ type: "room", ...rid(frame), ...result });
    },
  },
  "room.join": {
    async handle(d, { conn, auth }, frame) {
      conn.send({
        type: "room",
        ...rid(frame),
        ...(await d.rooms.join(auth, frame.roomId, frame.passphrase)),
      });
    },
  },
  "room.update": {
    async handle(d, { conn, auth }, frame) {
      const { rid: _rid, type: _type, roomId, ...patch } = frame;
      conn.send({ type: "room", ...rid(frame), ...(await d.rooms.update(auth, roomId, patch)) });
    },
  },
  "room.role": {
    async handle(d, { conn, auth }, frame) {
      await d.rooms.setRole(auth, frame.roomId, asUserId(frame.userId), frame.role);
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "room.invites": {
    async handle(d, { conn, auth }, frame) {
      conn.send({ type: "invites", ...rid(frame), invites: await d.rooms.invites(auth) });
    },
  },
  "room.decline": {
    async handle(d, { conn, auth }, frame) {
      await d.rooms.decline(auth, frame.roomId);
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "room.delete": {
    async handle(d, { conn, auth }, frame) {
      await d.rooms.deleteByOwner(auth, frame.roomId);
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "direct.open": {
    async handle(d, { conn, auth }, frame) {
      conn.send({ type: "room", ...rid(frame), ...(await d.rooms.openDirect(auth, asUserId(frame.userId))) });
    },
  },
  "room.invite": {
    async handle(d, { conn, auth }, frame) {
      await d.rooms.invite(auth, frame.roomId, asUserId(frame.userId));
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "room.leave": {
    async handle(d, { conn, auth }, frame) {
      await d.rooms.leave(auth, frame.roomId);
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "room.remove": {
    async handle(d, { conn, auth }, frame) {
      await d.rooms.remove(auth, frame.roomId, asUserId(frame.userId));
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "room.ban": {
    async handle(d, { conn, auth }, frame) {
      await d.rooms.ban(auth, frame.roomId, asUserId(frame.userId));
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "room.unban": {
    async handle(d, { conn, auth }, frame) {
      await d.rooms.unban(auth, frame.roomId, asUserId(frame.userId));
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "room.bans": {
    async handle(d, { conn, auth }, frame) {
      conn.send({ type: "bans", ...rid(frame), ...(await d.rooms.bans(auth, frame.roomId)) });
    },
  },
  "room.list": {
    async handle(d, { conn, auth }, frame) {
      conn.send({ type: "rooms", ...rid(frame), rooms: await d.rooms.listMine(auth) });
    },
  },
  "room.discover": {
    async handle(d, { conn }, frame) {
      const page = await d.rooms.discover({
        ...(frame.query !== undefined ? { query: frame.query } : {}),
        ...(frame.after !== undefined ? { after: frame.after } : {}),
        ...(frame.limit !== undefined ? { limit: frame.limit } : {}),
      });
      conn.send({ type: "rooms", ...rid(frame), ...page });
    },
  },
  "room.members": {
    async handle(d, { conn, auth }, frame) {
      conn.send({ type: "members", ...rid(frame), ...(await d.rooms.members(auth, frame.roomId)) });
    },
  },
  subscribe: {
    async handle(d, { conn, auth }, frame) {
      await d.subscriptions.subscribe(auth, asUserId(frame.userId));
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  unsubscribe: {
    async handle(d, { conn, auth }, frame) {
      await d.subscriptions.unsubscribe(auth, asUserId(frame.userId));
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "subscriptions.list": {
    async handle(d, { conn, auth }, frame) {
      conn.send({ type: "subscriptions", ...rid(frame), users: await d.subscriptions.list(auth) });
    },
  },
  "device.register": {
    async handle(d, { conn, auth }, frame) {
      if (conn.deviceId !== frame.deviceId)
        throw new ParleyError("device_required", { details: ["/deviceId"] });
      const supply = await d.delivery.registerDevice(auth, frame);
      conn.send({ type: "keypackages.count", ...rid(frame), ...supply });
      // MLS-2, MLS-8, RELAY-6: the device's backlog follows the answer.
      await streamOf(conn).start();
    },
  },
  "keypackages.upload": {
    async handle(d, { conn, auth }, frame) {
      const supply = await d.delivery.uploadKeyPackages(
        auth,
        conn.deviceId,
        frame.keyPackages,
        frame.lastResort,
      );
      conn.send({ type: "keypackages.count", ...rid(frame), ...supply });
    },
  },
  "keypackages.claim": {
    async handle(d, { conn, auth }, frame) {
      conn.send({
        type: "keypackages",
        ...rid(frame),
        ...(await d.delivery.claim(auth, asUserId(frame.userId), conn.deviceId ?? undefined)),
      });
    },
  },
  "devices.list": {
    async handle(d, { conn }, frame) {
      conn.send({ type: "devices", ...rid(frame), ...(await d.delivery.devices(asUserId(frame.userId))) });
    },
  },
  "identity.resets.list": {
    async handle(d, { conn, auth }, frame) {
      const userIds = await d.delivery.identityResetsSince(auth, frame.since);
      conn.send({ type: "identity.resets", ...rid(frame), userIds });
    },
  },
  "device.remove": {
    async handle(d, { conn, auth }, frame) {
      await d.delivery.removeDevice(auth, conn.deviceId, frame.deviceId, frame.revocation);
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "link.open": {
    async handle(d, { conn, auth }, frame) {
      const { expiresAt } = await d.links.open(auth, conn.deviceId, frame.linkId, frame.publicKey);
      conn.send({ type: "link.opened", ...rid(frame), linkId: frame.linkId, expiresAt });
    },
  },
  "link.join": {
    async handle(d, { conn, auth }, frame) {
      const peer = await d.links.join(auth, conn.deviceId, frame.linkId, frame.publicKey);
      conn.send({ type: "link.peer", ...rid(frame), linkId: frame.linkId, ...peer });
    },
  },
  "link.send": {
    async handle(d, { conn, auth }, frame) {
      await d.links.send(auth, conn.deviceId, frame.linkId, frame.payload);
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "link.cancel": {
    async handle(d, { conn, auth }, frame) {
      await d.links.cancel(auth, conn.deviceId, frame.linkId);
      conn.send({ type: "ok", ...rid(frame) });
    },
  },
  "mls.commit": {
    async handle(d, { conn, auth }, frame) {
      const accepted = await d.delivery.commit(auth, conn.deviceId, frame);
      conn.send({ type: "mls.accepted", ...rid(frame), ...accepted });
    },
  },
  "mls.ack": {
    handle: (_d, { conn }, frame) => streamOf(conn).ackHandshakes(frame.upTo),
  },
  "queue.ack": {
    handle: (_d, { conn }, frame) => streamOf(conn).ackQueue(frame.upTo),
  },
  "mls.groupinfo.get": {
    async handle(d, { conn, auth }, frame) {
      conn.send({
        type: "mls.groupinfo",
        ...rid(frame),
        ...(await d.delivery.groupInfo(auth, frame.roomId)),
      });
    },
  },
};
