import {
  canonicalRoomId,
  DEFAULT_MAX_ROOMS_PER_USER,
  DISCOVER_PAGE_DEFAULT,
  isDisplayText,
  type MemberView,
  type RoomView,
} from "@parley/protocol";
import type { Static } from "typebox";
import type { Bus } from "../bus/bus.js";
import {
  type MemberRecord,
  type RoomRecord,
  type Storage,
  StorageConflictError,
} from "../storage/storage.js";
import type { AuthContext } from "./accounts.js";
import { encodeFrame } from "./encode.js";
import { ParleyError } from "./errors.js";
import { asRoomId, type RoomId, type UserId } from "./ids.js";
import type { MembershipCache } from "./membership-cache.js";
import { newRoomId } from "./room-ids.js";

export type RoomViewT = Static<typeof RoomView>;
export type MemberViewT = Static<typeof MemberView>;

export interface RoomServiceOptions {
  storage: Storage;
  bus: Bus;
  membership: MembershipCache;
  /** RELAY-7: the user left the room or was removed from it (the offline queue drops its entries). */
  onMemberGone?: (userId: UserId, roomId: RoomId) => Promise<void>;
  /** ROOM-12: rooms one user may own; default DEFAULT_MAX_ROOMS_PER_USER. */
  maxRoomsPerUser?: number;
  now?: () => number;
}

/**
 * Rooms and direct conversations: who is in which, and who may join. Every change is pushed
 * to the members' devices as a `room.event` and announced on the bus so every server's
 * membership cache drops the room.
 */
export class RoomService {
  readonly #now: () => number;

  constructor(private readonly o: RoomServiceOptions) {
    this.#now = o.now ?? Date.now;
  }

  async create(auth: AuthContext, input: { name: string; topic?: string; isPublic?: boolean }) {
    const name = input.name.trim();
    if (name.length === 0) throw new ParleyError("validation_failed", { details: ["/name"] });
    const topic = input.topic?.trim() || null;
    // ROOM-10: what every member's screen shows may not rewrite or hide the text around it.
    if (!isDisplayText(name)) throw new ParleyError("invalid_text", { details: ["/name"] });
    if (topic !== null && !isDisplayText(topic))
      throw new ParleyError("invalid_text", { details: ["/topic"] });
    // ROOM-12: one account cannot fill the directory (or the database) with rooms. A few
    // concurrent creates may pass the count together: the cap is a bound, not an exact count.
    const max = this.o.maxRoomsPerUser ?? DEFAULT_MAX_ROOMS_PER_USER;
    if ((await this.o.storage.countRoomsOwnedBy(auth.userId)) >= max) throw new ParleyError("too_many_rooms");
    const now = this.#now();
    for (let attempt = 0; ; attempt++) {
      try {
        const room = await this.o.storage.createRoom({
          id: asRoomId(newRoomId()),
          kind: "room",
          name,
          topic,
          isPublic: input.isPublic ?? true,
          ownerId: auth.userId,
          pairKey: null,
          createdAt: now,
        });
        await this.o.storage.addMember(room.id, auth.userId, "owner", now);
        this.#changed(room.id);
        return { room: roomView(room), members: await this.#memberViews(room.id) };
      } catch (e) {
        // A six-character id can collide; draw another.
        if (e instanceof StorageConflictError && attempt < 5) continue;
        throw e;
      }
    }
  }

  async invite(auth: AuthContext, rawRoomId: string, userId: UserId): Promise<void> {
    const room = await this.#roomOfMember(auth, rawRoomId);
    if (room.kind === "direct") throw new ParleyError("invalid_target");
    const target = await this.o.storage.findUserById(userId);
    if (!target || target.disabled) throw new ParleyError("user_not_found");
    if (await this.o.storage.isMember(room.id, userId)) return;
    await this.o.storage.addRoomInvite(room.id, userId, auth.userId, this.#now());
    this.o.bus.deliver(
      [userId],
      encodeFrame({
        type: "invited",
        room: roomView(room),
        by: { id: auth.userId, username: auth.username },
      }),
    );
    await this.#announce(room.id, "invited", target.id, target.username);
  }

  async join(auth: AuthContext, rawRoomId: string) {
    const room = await this.#room(rawRoomId);
    if (room.kind === "direct") throw new ParleyError("not_invited");
    const already = await this.o.storage.isMember(room.id, auth.userId);
    if (!already) {
      if (!room.isPublic && !(await this.o.storage.hasRoomInvite(room.id, auth.userId))) {
        throw new ParleyError("not_invited");
      }
      await this.o.storage.addMember(room.id, auth.userId, "member", this.#now());
      await this.o.storage.removeRoomInvite(room.id, auth.userId);
      this.#changed(room.id);
      await this.#announce(room.id, "joined", auth.userId, auth.username);
    }
    return { room: roomView(room), members: await this.#memberViews(room.id) };
  }

  async leave(auth: AuthContext, rawRoomId: string): Promise<void> {
    const room = await this.#roomOfMember(auth, rawRoomId);
    await this.o.storage.removeMember(room.id, auth.userId);
    this.#changed(room.id);
    await this.o.onMemberGone?.(auth.userId, room.id);
    const rest = await this.o.storage.listMembers(room.id);
    if (rest.length === 0) {
      await this.o.storage.deleteRoom(room.id);
      this.#changed(room.id);
      return;
    }
    if (room.ownerId === auth.userId && room.kind === "room") {
      // The longest-standing member inherits the room rather than leaving it ownerless.
      const heir = [...rest].sort((a, b) => a.joinedAt - b.joinedAt)[0] as MemberRecord;
      await this.o.storage.setRoomOwner(room.id, heir.userId);
    }
    await this.#announce(room.id, "left", auth.userId, auth.username, [auth.userId]);
  }

  /**
   * ROOM-13: an admin deletes a room (a direct conversation too): its members, invites and the
   * room go, every former member's devices get `room.event` `deleted` naming the admin, and
   * what waited for them in it (RELAY-7) is dropped. `room_not_found` for an unknown id.
   */
  async deleteByAdmin(
    admin: { userId: UserId; username: string },
    rawRoomId: string,
  ): Promise<{ room: RoomRecord; members: number }> {
    const room = await this.#room(rawRoomId);
    const members = (await this.o.storage.listMembers(room.id)).map((m) => m.userId);
    await this.o.storage.deleteRoom(room.id);
    this.#changed(room.id);
    for (const userId of members) await this.o.onMemberGone?.(userId, room.id);
    this.o.bus.deliver(
      members,
      encodeFrame({
        type: "room.event",
        roomId: room.id,
        event: "deleted",
        userId: admin.userId,
        username: admin.username,
      }),
    );
    return { room, members: members.length };
  }

  async remove(auth: AuthContext, rawRoomId: string, userId: UserId): Promise<void> {
    const room = await this.#roomOfMember(auth, rawRoomId);
    if (room.kind === "direct" || room.ownerId !== auth.userId) throw new ParleyError("not_room_owner");
    if (userId === auth.userId) throw new ParleyError("invalid_target");
    const target = await this.o.storage.findUserById(userId);
    if (!target || !(await this.o.storage.removeMember(room.id, userId))) {
      throw new ParleyError("target_not_member");
    }
    this.#changed(room.id);
    await this.o.onMemberGone?.(target.id, room.id);
    await this.#announce(room.id, "removed", target.id, target.username, [target.id]);
  }

  async listMine(auth: AuthContext): Promise<RoomViewT[]> {
    return (await this.o.storage.listRoomsOfUser(auth.userId)).map(roomView);
  }

  /** ROOM-11: a page of the public rooms; `next` when there may be more. */
  async discover(input: { query?: string; after?: string; limit?: number } = {}): Promise<{
    rooms: RoomViewT[];
    next?: string;
  }> {
    const limit = input.limit ?? DISCOVER_PAGE_DEFAULT;
    const after = input.after === undefined ? undefined : parseCursor(input.after);
    const query = input.query?.trim();
    const rooms = await this.o.storage.listPublicRooms({
      limit,
      ...(after !== undefined ? { after } : {}),
      ...(query ? { query } : {}),
    });
    const last = rooms.at(-1);
    return {
      rooms: rooms.map(roomView),
      ...(rooms.length === limit && last !== undefined ? { next: `${last.createdAt}.${last.id}` } : {}),
    };
  }

  async members(auth: AuthContext, rawRoomId: string): Promise<{ roomId: string; members: MemberViewT[] }> {
    const room = await this.#room(rawRoomId);
    if (!room.isPublic && !(await this.o.storage.isMember(room.id, auth.userId))) {
      throw new ParleyError("not_a_member");
    }
    return { roomId: room.id, members: await this.#memberViews(room.id) };
  }

  async openDirect(auth: AuthContext, userId: UserId) {
    if (userId === auth.userId) throw new ParleyError("invalid_target");
    const target = await this.o.storage.findUserById(userId);
    if (!target || target.disabled) throw new ParleyError("user_not_found");
    const pairKey = [auth.userId, userId].sort().join(":");
    let room = await this.o.storage.findDirectRoom(pairKey);
    if (!room) {
      const now = this.#now();
      try {
        room = await this.o.storage.createRoom({
          id: asRoomId(newRoomId()),
          kind: "direct",
          name: "",
          topic: null,
          isPublic: false,
          ownerId: null,
          pairKey,
          createdAt: now,
        });
      } catch (e) {
        // Both users opened it at once: the other call created it.
        if (!(e instanceof StorageConflictError)) throw e;
        room = await this.o.storage.findDirectRoom(pairKey);
        if (!room) throw e;
      }
    }
    // Either side may have left it earlier; opening it again brings both back.
    const now = this.#now();
    await this.o.storage.addMember(room.id, auth.userId, "member", now);
    await this.o.storage.addMember(room.id, userId, "member", now);
    this.#changed(room.id);
    const result = { room: roomView(room), members: await this.#memberViews(room.id) };
    this.o.bus.deliver([userId], encodeFrame({ type: "room", ...result }));
    return result;
  }

  async #room(rawRoomId: string): Promise<RoomRecord> {
    const room = await this.o.storage.findRoom(asRoomId(canonicalRoomId(rawRoomId)));
    if (!room) throw new ParleyError("room_not_found");
    return room;
  }

  async #roomOfMember(auth: AuthContext, rawRoomId: string): Promise<RoomRecord> {
    const room = await this.#room(rawRoomId);
    if (!(await this.o.storage.isMember(room.id, auth.userId))) throw new ParleyError("not_a_member");
    return room;
  }

  async #memberViews(roomId: RoomId): Promise<MemberViewT[]> {
    const [members, online] = await Promise.all([
      this.o.storage.listMembers(roomId),
      this.o.bus.onlineUserIds(),
    ]);
    const views: MemberViewT[] = [];
    for (const m of members) {
      const user = await this.o.storage.findUserById(m.userId);
      if (user)
        views.push({ userId: m.userId, username: user.username, role: m.role, online: online.has(m.userId) });
    }
    return views;
  }

  #changed(roomId: RoomId): void {
    this.o.membership.invalidate(roomId);
    this.o.bus.publishControl({ type: "membership.changed", roomId });
  }

  async #announce(
    roomId: RoomId,
    event: "joined" | "left" | "removed" | "invited",
    userId: UserId,
    username: string,
    alsoTo: UserId[] = [],
  ): Promise<void> {
    const members = (await this.o.storage.listMembers(roomId)).map((m) => m.userId);
    this.o.bus.deliver(
      [...members, ...alsoTo],
      encodeFrame({ type: "room.event", roomId, event, userId, username }),
    );
  }
}

export function roomView(r: RoomRecord): RoomViewT {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    topic: r.topic,
    isPublic: r.isPublic,
    ownerId: r.ownerId,
    createdAt: r.createdAt,
  };
}

/** A `room.discover` cursor: the created-at and id of the last room of a page (the frame schema checked its shape). */
function parseCursor(cursor: string): { createdAt: number; id: string } {
  const dot = cursor.indexOf(".");
  return { createdAt: Number(cursor.slice(0, dot)), id: cursor.slice(dot + 1) };
}
