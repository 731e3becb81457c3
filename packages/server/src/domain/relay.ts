import { canonicalRoomId } from "@parley/protocol";
import type { Bus } from "../bus/bus.js";
import type { AuthContext } from "./accounts.js";
import { encodeFrame } from "./encode.js";
import { ParleyError } from "./errors.js";
import { asRoomId, type UserId } from "./ids.js";
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

  async toRoom(
    auth: AuthContext,
    connectionId: string,
    rawRoomId: string,
    payload: string,
  ): Promise<{ id: string; ts: number }> {
    const roomId = asRoomId(canonicalRoomId(rawRoomId));
    const members = this.o.membership.peek(roomId) ?? (await this.o.membership.load(roomId));
    if (!members) throw new ParleyError("room_not_found");
    if (!members.set.has(auth.userId)) throw new ParleyError("not_a_member");
    const id = this.o.messageIds.next();
    const ts = this.#now();
    const from = { id: auth.userId, username: auth.username };
    this.o.bus.deliver(
      members.list,
      encodeFrame({ type: "message", id, ts, from, room: roomId, payload }),
      connectionId,
    );
    if (this.o.offlineQueue) {
      try {
        await this.o.offlineQueue.enqueue(members.set, {
          roomId,
          messageId: id,
          from: { userId: auth.userId, username: auth.username },
          ts,
          payload,
        });
      } catch (err) {
        this.o.onQueueError?.(err);
      }
    }
    if (members.isPublic && members.kind === "room") {
      await this.#toFollowers(auth.userId, members, () =>
        encodeFrame({ type: "message", id, ts, from, room: roomId, via: "subscription", payload }),
      );
    }
    return { id, ts };
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

  async #toFollowers(sender: UserId, members: Membership, frame: () => Buffer): Promise<void> {
    const followers = await this.o.subscriptions.followersOf(sender);
    if (followers.length === 0) return;
    const outside = followers.filter((f) => !members.set.has(f));
    if (outside.length > 0) this.o.bus.deliver(outside, frame());
  }
}
