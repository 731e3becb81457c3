import { canonicalRoomId } from "@parley/protocol";
import type { Bus } from "../bus/bus.js";
import type { AuthContext } from "./accounts.js";
import { encodeFrame } from "./encode.js";
import { ParleyError } from "./errors.js";
import { asRoomId, type RoomId, type UserId } from "./ids.js";
import type { Membership, MembershipCache } from "./membership-cache.js";
import type { MessageIdGenerator } from "./message-id-generator.js";
import type { OfflineQueue } from "./offline-queue.js";
import type { SubscriptionService } from "./subscriptions.js";

export interface RelayOptions {
  bus: Bus;
  membership: MembershipCache;
  subscriptions: SubscriptionService;
  messageIds: MessageIdGenerator;
  userExists: (id: UserId) => boolean | Promise<boolean>;
  /** The opt-in offline ciphertext queue (RELAY-5); absent when PARLEY_OFFLINE_QUEUE=off. */
  offlineQueue?: OfflineQueue;
  /**
   * A message was relayed but could not be queued for offline devices. It is not refused: the
   * connected devices have it already, and a retry would hand it to them twice.
   */
  onQueueError?: (err: unknown) => void;
  now?: () => number;
}

/**
 * The blind relay: an opaque payload goes to the current members' connected devices, stamped
 * with the sender, a server time and an id. It is never logged or inspected, and never stored
 * unless the operator turned on the offline ciphertext queue (RELAY-5). The
 * frame is serialised once and the same buffer goes to every recipient (an MLS application
 * message is the same ciphertext for the whole group).
 */
export class Relay {
  readonly #now: () => number;

  constructor(private readonly o: RelayOptions) {
    this.#now = o.now ?? Date.now;
  }

  /**
   * RELAY-1: relays `payload` to the room's members. Synchronous when everything it needs is in
   * memory (the room's members, the sender's followers, no offline queue): the relay's hot path
   * then makes no promise. A refusal known at once is thrown, not returned as a rejection.
   */
  toRoom(auth: AuthContext, connectionId: string, rawRoomId: string, payload: string): Sent | Promise<Sent> {
    const roomId = asRoomId(canonicalRoomId(rawRoomId));
    const members = this.o.membership.peek(roomId);
    if (members === undefined) {
      return this.o.membership
        .load(roomId)
        .then((loaded) => this.#toMembers(auth, connectionId, roomId, loaded, payload));
    }
    return this.#toMembers(auth, connectionId, roomId, members, payload);
  }

  #toMembers(
    auth: AuthContext,
    connectionId: string,
    roomId: RoomId,
    members: Membership | null,
    payload: string,
  ): Sent | Promise<Sent> {
    if (!members) throw new ParleyError("room_not_found");
    if (!members.set.has(auth.userId)) throw new ParleyError("not_a_member");
    const sent: Sent = { id: this.o.messageIds.next(), ts: this.#now() };
    this.o.bus.deliver(members.list, roomMessageFrame(auth, sent, roomId, payload, false), connectionId);
    if (this.o.offlineQueue)
      return this.#queueThenFollowers(this.o.offlineQueue, auth, roomId, members, sent, payload);
    const pending = this.#toFollowers(auth, members, roomId, sent, payload);
    return pending === undefined ? sent : pending.then(() => sent);
  }

  async #queueThenFollowers(
    queue: OfflineQueue,
    auth: AuthContext,
    roomId: RoomId,
    members: Membership,
    sent: Sent,
    payload: string,
  ): Promise<Sent> {
    try {
      await queue.enqueue(members.set, {
        roomId,
        messageId: sent.id,
        from: { userId: auth.userId, username: auth.username },
        ts: sent.ts,
        payload,
      });
    } catch (err) {
      this.o.onQueueError?.(err);
    }
    await this.#toFollowers(auth, members, roomId, sent, payload);
    return sent;
  }

  async toUser(
    auth: AuthContext,
    connectionId: string,
    userId: UserId,
    payload: string,
  ): Promise<{ id: string; ts: number }> {
    if (!(await this.o.userExists(userId))) throw new ParleyError("user_not_found");
    const id = this.o.messageIds.next();
    const ts = this.#now();
    const frame = encodeFrame({
      type: "message",
      id,
      ts,
      from: { id: auth.userId, username: auth.username },
      user: userId,
      payload,
    });
    // The recipient's devices, and the sender's other devices so their history stays whole.
    this.o.bus.deliver(userId === auth.userId ? [userId] : [userId, auth.userId], frame, connectionId);
    return { id, ts };
  }

  async typing(auth: AuthContext, connectionId: string, rawRoomId: string, active: boolean): Promise<void> {
    const roomId = asRoomId(canonicalRoomId(rawRoomId));
    const members = this.o.membership.peek(roomId) ?? (await this.o.membership.load(roomId));
    if (!members) throw new ParleyError("room_not_found");
    if (!members.set.has(auth.userId)) throw new ParleyError("not_a_member");
    this.o.bus.deliver(
      members.list,
      encodeFrame({ type: "typing.event", roomId, userId: auth.userId, username: auth.username, active }),
      connectionId,
    );
  }

  /**
   * RCPT-1, RCPT-2: a device's delivery or read receipts, relayed to the devices of the user
   * whose messages they name. The ids are opaque to the server (chosen by clients, inside the
   * ciphertext); it checks only that both users are members of the room.
   */
  async receipt(
    auth: AuthContext,
    connectionId: string,
    deviceId: string,
    receipt: { roomId: string; to: UserId; ids: readonly string[]; state: "delivered" | "read" },
  ): Promise<void> {
    const roomId = asRoomId(canonicalRoomId(receipt.roomId));
    const members = this.o.membership.peek(roomId) ?? (await this.o.membership.load(roomId));
    if (!members) throw new ParleyError("room_not_found");
    if (!members.set.has(auth.userId)) throw new ParleyError("not_a_member");
    if (!members.set.has(receipt.to)) throw new ParleyError("recipient_not_member");
    this.o.bus.deliver(
      [receipt.to],
      encodeFrame({
        type: "receipt.event",
        roomId,
        from: { userId: auth.userId, deviceId },
        ids: [...receipt.ids],
        state: receipt.state,
      }),
      connectionId,
    );
  }

  /**
   * SUB-2: a public room's post, copied to the sender's followers outside the room. Undefined
   * when done at once (no followers, or their list in memory).
   */
  #toFollowers(
    auth: AuthContext,
    members: Membership,
    roomId: RoomId,
    sent: Sent,
    payload: string,
  ): Promise<void> | undefined {
    if (!members.isPublic || members.kind !== "room") return undefined;
    const followers = this.o.subscriptions.followersOf(auth.userId);
    if (!Array.isArray(followers)) {
      return (followers as Promise<readonly UserId[]>).then((list) =>
        this.#copyToFollowers(list, auth, members, roomId, sent, payload),
      );
    }
    this.#copyToFollowers(followers as readonly UserId[], auth, members, roomId, sent, payload);
    return undefined;
  }

  #copyToFollowers(
    followers: readonly UserId[],
    auth: AuthContext,
    members: Membership,
    roomId: RoomId,
    sent: Sent,
    payload: string,
  ): void {
    if (followers.length === 0) return;
    const outside = followers.filter((f) => !members.set.has(f));
    if (outside.length > 0) this.o.bus.deliver(outside, roomMessageFrame(auth, sent, roomId, payload, true));
  }
}

/** A message id and the server's time stamp (WS-6). */
export interface Sent {
  id: string;
  ts: number;
}

/** The `message` frame of a room post, serialised once for all its recipients (RELAY-2). */
function roomMessageFrame(
  auth: AuthContext,
  sent: Sent,
  roomId: RoomId,
  payload: string,
  viaSubscription: boolean,
): Buffer {
  const from = { id: auth.userId, username: auth.username };
  return encodeFrame(
    viaSubscription
      ? { type: "message", id: sent.id, ts: sent.ts, from, room: roomId, via: "subscription", payload }
      : { type: "message", id: sent.id, ts: sent.ts, from, room: roomId, payload },
  );
}
