import {
  canonicalRoomId,
  DEFAULT_MAX_PENDING_INVITES,
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
  type RoomPatch,
  type RoomRecord,
  type Storage,
  StorageConflictError,
} from "../storage/storage.js";
import type { AuthContext } from "./accounts.js";
import { encodeFrame } from "./encode.js";
import { ParleyError } from "./errors.js";
import { asRoomId, type RoomId, type UserId } from "./ids.js";
import { isLimiterRejection, type Limiter, type LimiterFactory } from "./limiters.js";
import type { MembershipCache } from "./membership-cache.js";
import type { PassphraseGuard } from "./passphrase-guard.js";
import { hashPassword } from "./password-hasher.js";
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
  /** ROOM-17: unanswered invitations one user may have out; default DEFAULT_MAX_PENDING_INVITES. */
  maxPendingInvites?: number;
  /** ROOM-17: invitations one user may send per minute (default 30); needs `limiters`. */
  invitesPerMinute?: number;
  limiters?: LimiterFactory;
  /** ROOM-15: checks join passphrases and limits guessing. Without one, rooms with a passphrase cannot be joined without an invite. */
  passphrases?: PassphraseGuard;
  /** ROOM-15: the slow hash of a passphrase; default the password hasher (argon2id). */
  hashPassphrase?: (passphrase: string) => Promise<string>;
  now?: () => number;
}

type RoomChange = "name" | "topic" | "privacy" | "cap" | "passphrase";
type RoomEventName =
  | "joined"
  | "left"
  | "removed"
  | "invited"
  | "declined"
  | "updated"
  | "role"
  | "deleted"
  | "banned"
  | "unbanned"
  | "owner"
  | "account_deleted";
interface RoomEventExtra {
  by?: { id: string; username: string };
  room?: RoomViewT;
  changes?: RoomChange[];
  role?: "moderator" | "member";
}

/**
 * Rooms and direct conversations: who is in which, and who may join. Every change is pushed
 * to the members' devices as a `room.event` and announced on the bus so every server's
 * membership cache drops the room.
 */
export class RoomService {
  readonly #now: () => number;
  readonly #inviteRate: Limiter | undefined;

  constructor(private readonly o: RoomServiceOptions) {
    this.#now = o.now ?? Date.now;
    this.#inviteRate = o.limiters?.({
      keyPrefix: "room_invites",
      points: o.invitesPerMinute ?? 30,
      duration: 60,
    });
  }

  async create(
    auth: AuthContext,
    input: { name: string; topic?: string; isPublic?: boolean; maxMembers?: number; passphrase?: string },
  ) {
    const name = checkedName(input.name);
    const topic = checkedTopic(input.topic);
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
          // ROOM-2: invitation only unless the owner says otherwise.
          isPublic: input.isPublic ?? false,
          ownerId: auth.userId,
          pairKey: null,
          createdAt: now,
          maxMembers: input.maxMembers ?? null,
          passphraseHash: input.passphrase === undefined ? null : await this.#hash(input.passphrase),
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

  /**
   * ROOM-4, ROOM-17: invites a user. In a private room only the owner and moderators may
   * (`not_room_moderator`); a full room takes no invitations (`room_full`); each user has a
   * rate and a cap of unanswered invitations out (`rate_limited`, `too_many_invites`).
   */
  async invite(auth: AuthContext, rawRoomId: string, userId: UserId): Promise<void> {
    const room = await this.#room(rawRoomId);
    const members = await this.o.storage.listMembers(room.id);
    const role = members.find((m) => m.userId === auth.userId)?.role;
    if (role === undefined) throw new ParleyError("not_a_member");
    if (room.kind === "direct") throw new ParleyError("invalid_target");
    if (!room.isPublic && role === "member") throw new ParleyError("not_room_moderator");
    const target = await this.o.storage.findUserById(userId);
    if (!target || target.disabled) throw new ParleyError("user_not_found");
    if (members.some((m) => m.userId === userId)) return;
    // ACCT-6: the blocker is not told; the inviter learns only that this invitation cannot be.
    if (await this.o.storage.isBlocked(userId, auth.userId)) throw new ParleyError("invite_refused");
    if (await this.o.storage.isBannedFromRoom(room.id, userId)) throw new ParleyError("banned_from_room");
    if (room.maxMembers !== null && members.length >= room.maxMembers) throw new ParleyError("room_full");
    if (!(await this.o.storage.hasRoomInvite(room.id, userId))) {
      const max = this.o.maxPendingInvites ?? DEFAULT_MAX_PENDING_INVITES;
      if ((await this.o.storage.countRoomInvitesBy(auth.userId)) >= max)
        throw new ParleyError("too_many_invites");
    }
    await this.#spendInvite(auth.userId);
    await this.o.storage.addRoomInvite(room.id, userId, auth.userId, this.#now());
    const by = { id: auth.userId, username: auth.username };
    this.o.bus.deliver([userId], encodeFrame({ type: "invited", room: roomView(room), by }));
    await this.#announce(room.id, "invited", target.id, target.username, [], { by });
  }

  /**
   * ROOM-3: joins a public room, or one the sender was invited to. An invitation opens the room
   * without its passphrase (ROOM-15); the member cap holds for everyone (ROOM-14).
   */
  async join(auth: AuthContext, rawRoomId: string, passphrase?: string) {
    const room = await this.#room(rawRoomId);
    if (room.kind === "direct") throw new ParleyError("not_invited");
    const members = await this.o.storage.listMembers(room.id);
    if (!members.some((m) => m.userId === auth.userId)) {
      if (await this.o.storage.isBannedFromRoom(room.id, auth.userId))
        throw new ParleyError("banned_from_room");
      const invited = await this.o.storage.hasRoomInvite(room.id, auth.userId);
      if (!invited) {
        if (!room.isPublic) throw new ParleyError("not_invited");
        if (room.passphraseHash !== null) {
          if (!this.o.passphrases) throw new ParleyError("not_invited");
          await this.o.passphrases.check(auth.userId, room.passphraseHash, passphrase);
        }
      }
      if (room.maxMembers !== null && members.length >= room.maxMembers) throw new ParleyError("room_full");
      await this.o.storage.addMember(room.id, auth.userId, "member", this.#now());
      await this.o.storage.removeRoomInvite(room.id, auth.userId);
      this.#changed(room.id);
      await this.#announce(room.id, "joined", auth.userId, auth.username);
    }
    return { room: roomView(room), members: await this.#memberViews(room.id) };
  }

  /** ROOM-17: the sender's pending invitations, with who sent each. */
  async invites(auth: AuthContext) {
    const out = [];
    for (const invite of await this.o.storage.listRoomInvitesOf(auth.userId)) {
      const [room, by] = await Promise.all([
        this.o.storage.findRoom(invite.roomId),
        this.o.storage.findUserById(invite.invitedBy),
      ]);
      if (room && by)
        out.push({ room: roomView(room), by: { id: by.id, username: by.username }, ts: invite.createdAt });
    }
    return out;
  }

  /** ROOM-17: turns an invitation down (`not_invited` when there is none); the members are told. */
  async decline(auth: AuthContext, rawRoomId: string): Promise<void> {
    const room = await this.#room(rawRoomId);
    const invite = await this.o.storage.findRoomInvite(room.id, auth.userId);
    if (!invite) throw new ParleyError("not_invited");
    await this.o.storage.removeRoomInvite(room.id, auth.userId);
    const inviter = await this.o.storage.findUserById(invite.invitedBy);
    await this.#announce(
      room.id,
      "declined",
      auth.userId,
      auth.username,
      [],
      inviter ? { by: { id: inviter.id, username: inviter.username } } : {},
    );
  }

  /**
   * ROOM-16: changes a room's settings. Name and topic: the owner or a moderator; privacy, cap
   * and passphrase: the owner. The members get `room.event` `updated` naming what changed.
   */
  async update(
    auth: AuthContext,
    rawRoomId: string,
    patch: {
      name?: string;
      topic?: string;
      isPublic?: boolean;
      maxMembers?: number | null;
      passphrase?: string | null;
    },
  ) {
    const room = await this.#room(rawRoomId);
    const role = await this.#roleOf(room.id, auth.userId);
    if (room.kind === "direct") throw new ParleyError("invalid_target");
    if (role === "member") throw new ParleyError("not_room_moderator");
    const ownerOnly =
      patch.isPublic !== undefined || patch.maxMembers !== undefined || patch.passphrase !== undefined;
    if (ownerOnly && role !== "owner") throw new ParleyError("not_room_owner");
    const changes: RoomChange[] = [];
    const next: RoomPatch = {};
    if (patch.name !== undefined) {
      const name = checkedName(patch.name);
      if (name !== room.name) {
        next.name = name;
        changes.push("name");
      }
    }
    if (patch.topic !== undefined) {
      const topic = checkedTopic(patch.topic);
      if (topic !== room.topic) {
        next.topic = topic;
        changes.push("topic");
      }
    }
    if (patch.isPublic !== undefined && patch.isPublic !== room.isPublic) {
      next.isPublic = patch.isPublic;
      changes.push("privacy");
    }
    if (patch.maxMembers !== undefined && patch.maxMembers !== room.maxMembers) {
      next.maxMembers = patch.maxMembers;
      changes.push("cap");
    }
    if (patch.passphrase !== undefined && !(patch.passphrase === null && room.passphraseHash === null)) {
      next.passphraseHash = patch.passphrase === null ? null : await this.#hash(patch.passphrase);
      changes.push("passphrase");
    }
    if (changes.length === 0) return { room: roomView(room), members: await this.#memberViews(room.id) };
    await this.o.storage.updateRoom(room.id, next);
    const updated = await this.#room(room.id);
    const view = roomView(updated);
    await this.#announce(room.id, "updated", auth.userId, auth.username, [], { room: view, changes });
    return { room: view, members: await this.#memberViews(room.id) };
  }

  /** ROOM-16: the owner makes a member a moderator, or a moderator a member again. */
  async setRole(auth: AuthContext, rawRoomId: string, userId: UserId, role: "moderator" | "member") {
    const room = await this.#room(rawRoomId);
    if ((await this.#roleOf(room.id, auth.userId)) !== "owner" || room.kind === "direct") {
      throw new ParleyError("not_room_owner");
    }
    if (userId === auth.userId) throw new ParleyError("invalid_target");
    const target = await this.o.storage.findUserById(userId);
    if (!target || !(await this.o.storage.setMemberRole(room.id, userId, role))) {
      throw new ParleyError("target_not_member");
    }
    await this.#announce(room.id, "role", target.id, target.username, [], {
      by: { id: auth.userId, username: auth.username },
      role,
    });
  }

  /** ROOM-18: the owner deletes the room for everyone, as an admin can (ROOM-13). */
  async deleteByOwner(auth: AuthContext, rawRoomId: string): Promise<void> {
    const room = await this.#room(rawRoomId);
    if ((await this.#roleOf(room.id, auth.userId)) !== "owner" || room.kind === "direct") {
      throw new ParleyError("not_room_owner");
    }
    await this.#delete(room, { userId: auth.userId, username: auth.username });
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
    await this.#announce(room.id, "left", auth.userId, auth.username, [auth.userId]);
    if (room.ownerId === auth.userId && room.kind === "room") await this.#handOver(room.id, rest);
  }

  /**
   * ROOM-20: the room passes to the longest-standing moderator, or else the longest-standing
   * member, rather than being left ownerless; every member gets `room.event` `owner`.
   */
  async #handOver(roomId: RoomId, rest: MemberRecord[]): Promise<void> {
    const byAge = [...rest].sort((a, b) => a.joinedAt - b.joinedAt);
    const heir = (byAge.find((m) => m.role === "moderator") ?? byAge[0]) as MemberRecord;
    await this.o.storage.setRoomOwner(roomId, heir.userId);
    const user = await this.o.storage.findUserById(heir.userId);
    await this.#announce(roomId, "owner", heir.userId, user?.username ?? "");
  }

  /**
   * ACCT-3: takes a deleted account out of every room and direct conversation. The members
   * get `room.event` `account_deleted` (their devices then remove its leaves from the MLS
   * group, MLS-5); a room it owned passes on (ROOM-20); a room left empty is deleted.
   */
  async removeAccount(
    user: { id: UserId; username: string },
    by: { id: UserId; username: string } | null,
  ): Promise<{ rooms: number; emptyRoomsDeleted: number; roomsHandedOver: number }> {
    const out = { rooms: 0, emptyRoomsDeleted: 0, roomsHandedOver: 0 };
    for (const room of await this.o.storage.listRoomsOfUser(user.id)) {
      if (!(await this.o.storage.removeMember(room.id, user.id))) continue;
      out.rooms++;
      this.#changed(room.id);
      await this.o.onMemberGone?.(user.id, room.id);
      const rest = await this.o.storage.listMembers(room.id);
      if (rest.length === 0) {
        await this.o.storage.deleteRoom(room.id);
        this.#changed(room.id);
        out.emptyRoomsDeleted++;
        continue;
      }
      await this.#announce(room.id, "account_deleted", user.id, user.username, [], by ? { by } : {});
      if (room.ownerId === user.id && room.kind === "room") {
        await this.#handOver(room.id, rest);
        out.roomsHandedOver++;
      }
    }
    return out;
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
    return this.#delete(await this.#room(rawRoomId), admin);
  }

  async #delete(
    room: RoomRecord,
    by: { userId: UserId; username: string },
  ): Promise<{ room: RoomRecord; members: number }> {
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
        userId: by.userId,
        username: by.username,
        ts: this.#now(),
      }),
    );
    return { room, members: members.length };
  }

  /**
   * ROOM-6: the owner or a moderator removes a member; only the owner removes a moderator. The
   * remaining members' devices then remove the member's devices from the MLS group.
   */
  async remove(auth: AuthContext, rawRoomId: string, userId: UserId): Promise<void> {
    const room = await this.#room(rawRoomId);
    const members = await this.o.storage.listMembers(room.id);
    const role = members.find((m) => m.userId === auth.userId)?.role;
    if (role === undefined) throw new ParleyError("not_a_member");
    if (room.kind === "direct") throw new ParleyError("not_room_owner");
    if (role === "member") throw new ParleyError("not_room_moderator");
    if (userId === auth.userId) throw new ParleyError("invalid_target");
    const targetRole = members.find((m) => m.userId === userId)?.role;
    if (targetRole !== undefined && targetRole !== "member" && role !== "owner") {
      throw new ParleyError("not_room_owner");
    }
    const target = await this.o.storage.findUserById(userId);
    if (!target || !(await this.o.storage.removeMember(room.id, userId))) {
      throw new ParleyError("target_not_member");
    }
    this.#changed(room.id);
    await this.o.onMemberGone?.(target.id, room.id);
    await this.#announce(room.id, "removed", target.id, target.username, [target.id], {
      by: { id: auth.userId, username: auth.username },
    });
  }

  /**
   * ROOM-19: the owner or a moderator bans a user from the room: a member is removed as by
   * ROOM-6 (only the owner may ban a moderator; nobody the owner), a pending invitation is
   * dropped, and until `unban` they cannot join or be invited (`banned_from_room`). The
   * members and the banned user get `room.event` `banned`.
   */
  async ban(auth: AuthContext, rawRoomId: string, userId: UserId): Promise<void> {
    const room = await this.#room(rawRoomId);
    const members = await this.o.storage.listMembers(room.id);
    const role = members.find((m) => m.userId === auth.userId)?.role;
    if (role === undefined) throw new ParleyError("not_a_member");
    if (room.kind === "direct") throw new ParleyError("invalid_target");
    if (role === "member") throw new ParleyError("not_room_moderator");
    if (userId === auth.userId) throw new ParleyError("invalid_target");
    const targetRole = members.find((m) => m.userId === userId)?.role;
    if (targetRole !== undefined && targetRole !== "member" && role !== "owner") {
      throw new ParleyError("not_room_owner");
    }
    const target = await this.o.storage.findUserById(userId);
    if (!target) throw new ParleyError("user_not_found");
    await this.o.storage.addRoomBan(room.id, target.id, auth.userId, this.#now());
    await this.o.storage.removeRoomInvite(room.id, target.id);
    if (targetRole !== undefined && (await this.o.storage.removeMember(room.id, target.id))) {
      this.#changed(room.id);
      await this.o.onMemberGone?.(target.id, room.id);
    }
    await this.#announce(room.id, "banned", target.id, target.username, [target.id], {
      by: { id: auth.userId, username: auth.username },
    });
  }

  /** ROOM-19: the owner or a moderator lifts a ban; the members get `room.event` `unbanned`. */
  async unban(auth: AuthContext, rawRoomId: string, userId: UserId): Promise<void> {
    const room = await this.#room(rawRoomId);
    if ((await this.#roleOf(room.id, auth.userId)) === "member") throw new ParleyError("not_room_moderator");
    const target = await this.o.storage.findUserById(userId);
    if (!target || !(await this.o.storage.removeRoomBan(room.id, userId))) return;
    await this.#announce(room.id, "unbanned", target.id, target.username, [], {
      by: { id: auth.userId, username: auth.username },
    });
  }

  /** ROOM-19: the room's bans, for its owner and moderators. */
  async bans(auth: AuthContext, rawRoomId: string) {
    const room = await this.#room(rawRoomId);
    if ((await this.#roleOf(room.id, auth.userId)) === "member") throw new ParleyError("not_room_moderator");
    const bans = await this.o.storage.listRoomBans(room.id);
    return {
      roomId: room.id,
      bans: bans.map((b) => ({
        user: { id: b.userId, username: b.username },
        by: b.bannedBy,
        ts: b.createdAt,
      })),
    };
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
    const counts = await this.o.storage.countMembers(rooms.map((r) => r.id));
    return {
      rooms: rooms.map((r) => ({ ...roomView(r), memberCount: counts.get(r.id) ?? 0 })),
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
    // ACCT-6: a direct conversation is an invitation too.
    if (await this.o.storage.isBlocked(userId, auth.userId)) throw new ParleyError("invite_refused");
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

  /** The user's role in the room; `not_a_member` when they have none. */
  async #roleOf(roomId: RoomId, userId: UserId): Promise<MemberRecord["role"]> {
    const role = (await this.o.storage.listMembers(roomId)).find((m) => m.userId === userId)?.role;
    if (role === undefined) throw new ParleyError("not_a_member");
    return role;
  }

  async #hash(passphrase: string): Promise<string> {
    return (this.o.hashPassphrase ?? hashPassword)(passphrase);
  }

  async #spendInvite(userId: UserId): Promise<void> {
    if (!this.#inviteRate) return;
    try {
      await this.#inviteRate.consume(userId);
    } catch (e) {
      if (!isLimiterRejection(e)) throw e;
      throw new ParleyError("rate_limited", { retryAfterMs: Math.max(1, e.msBeforeNext) });
    }
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
    event: RoomEventName,
    userId: UserId,
    username: string,
    alsoTo: UserId[] = [],
    extra: RoomEventExtra = {},
  ): Promise<void> {
    const members = (await this.o.storage.listMembers(roomId)).map((m) => m.userId);
    this.o.bus.deliver(
      [...members, ...alsoTo],
      encodeFrame({ type: "room.event", roomId, event, userId, username, ...extra, ts: this.#now() }),
    );
  }
}

/** ROOM-2, ROOM-10: a room name, trimmed, not empty, safe to show. */
function checkedName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0) throw new ParleyError("validation_failed", { details: ["/name"] });
  // ROOM-10: what every member's screen shows may not rewrite or hide the text around it.
  if (!isDisplayText(name)) throw new ParleyError("invalid_text", { details: ["/name"] });
  return name;
}

/** ROOM-10: a topic, trimmed; empty is none. */
function checkedTopic(raw: string | undefined): string | null {
  const topic = raw?.trim() || null;
  if (topic !== null && !isDisplayText(topic)) throw new ParleyError("invalid_text", { details: ["/topic"] });
  return topic;
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
    ...(r.maxMembers !== null ? { maxMembers: r.maxMembers } : {}),
    ...(r.passphraseHash !== null ? { hasPassphrase: true as const } : {}),
  };
}

/** A `room.discover` cursor: the created-at and id of the last room of a page (the frame schema checked its shape). */
function parseCursor(cursor: string): { createdAt: number; id: string } {
  const dot = cursor.indexOf(".");
  return { createdAt: Number(cursor.slice(0, dot)), id: cursor.slice(dot + 1) };
}
