/** The types of the events ParleyClient emits (messages, membership, presence, typing, key changes, status, errors). */

import type { DeviceRef, RoomView, ServerFrameOf } from "@parley/protocol";
import type { ConnectionStatus } from "./connection.js";
import type { Content } from "./content.js";
import type { AnyErrorCode, ParleyClientError } from "./errors.js";
import type { DeviceAdded, IdentityChange, TrustState } from "./pins.js";
import type { PolicyCheck } from "./server-policy.js";

/** A decrypted message of a room or direct conversation. */
export interface MessageEvent {
  readonly roomId: string;
  /** The server's id and time stamp (WS-6): the same for every recipient. */
  readonly id: string;
  readonly ts: number;
  /** The sender as MLS authenticated it (its device's credential), with the server's username. */
  readonly from: { readonly userId: string; readonly username: string; readonly deviceId: string };
  readonly content: Content;
  /** `content.text` for text messages, else undefined. */
  readonly text: string | undefined;
  /** What the user knew about the sender's identity key at the time of receipt. */
  readonly trust: TrustState;
  /** The MLS epoch the message was sent in. */
  readonly epoch: number;
  /** Kept for this device by the server's offline queue while it was offline (RELAY-6). */
  readonly queued?: true;
  /**
   * RCPT-3: the id and time the sender gave the message when composing it, the same in every
   * copy (live, queued, redelivered). Absent for content from clients before these stamps.
   */
  readonly messageId?: string;
  readonly sentAt?: number;
  /** RCPT-5: sent again by its sender's device because this device had not acknowledged it. */
  readonly redelivered?: true;
}

/**
 * RCPT-2: what is known of one message this device sent, after each receipt. `targets` are the
 * member devices (other than this one) of the sender's MLS group when it was sent; `delivered`
 * those of them that acknowledged it; `readBy` the other users who saw it (when they share
 * read receipts and this user does too).
 */
export interface DeliveryEvent {
  readonly roomId: string;
  readonly messageId: string;
  readonly targets: readonly DeviceRef[];
  readonly delivered: readonly DeviceRef[];
  readonly readBy: readonly string[];
}

/**
 * Changes of who is in a conversation. `room`: the server's roster (ROOM-9). `group`: the MLS
 * group moved to a new epoch, adding or removing devices. `self`: this device joined the group
 * (Welcome, external join) or was removed from it.
 */
export type RoomEventName = ServerFrameOf<"room.event">["event"];
export type RoomSettingChange = NonNullable<ServerFrameOf<"room.event">["changes"]>[number];

export type MembershipEvent =
  | {
      readonly source: "room";
      readonly roomId: string;
      /**
       * `deleted`: the owner or an admin (`userId`, `username`) deleted the room for everyone
       * (ROOM-13, ROOM-18); `updated`: `userId` changed the settings in `changes` (ROOM-16);
       * `role`: `userId` was given `role` by `by`; `declined`: `userId` turned down `by`'s invitation.
       */
      readonly event: RoomEventName;
      readonly userId: string;
      readonly username: string;
      /** Who did it, when someone else than `userId`: the inviter, the remover, the owner. */
      readonly by?: { readonly id: string; readonly username: string };
      /** For `updated`: the room as it is now, and what changed. */
      readonly room?: RoomView;
      readonly changes?: readonly RoomSettingChange[];
      /** For `role`: the member's new role. */
      readonly role?: "moderator" | "member";
      /** The server's time of the change (ms), when it said. */
      readonly ts?: number;
    }
  | {
      readonly source: "group";
      readonly roomId: string;
      readonly epoch: number;
      readonly added: readonly DeviceRef[];
      readonly removed: readonly DeviceRef[];
      readonly by: DeviceRef | undefined;
    }
  | {
      readonly source: "self";
      readonly roomId: string;
      readonly event: "joined" | "rejoined" | "removed";
      readonly epoch: number;
    };

export interface PresenceEvent {
  readonly userId: string;
  readonly username: string;
  readonly online: boolean;
}

export interface TypingEvent {
  readonly roomId: string;
  readonly userId: string;
  readonly username: string;
  readonly active: boolean;
}

export interface InvitedEvent {
  readonly room: RoomView;
  readonly by: { readonly id: string; readonly username: string };
}

/**
 * The server's offline queue was full while this device was away: its `dropped` oldest
 * messages are gone (RELAY-6). Messages older than the MLS key retention
 * (`retainKeysForEpochs`) cannot be read either; those come as `error` events.
 */
export interface QueueMissedEvent {
  readonly dropped: number;
}

/** Something failed that no caller is waiting for: a message that did not decrypt, a lost sync. */
export interface ErrorEvent {
  readonly code: AnyErrorCode;
  readonly error: ParleyClientError;
  readonly roomId?: string;
  /** The server's message id, for a message that could not be read. */
  readonly messageId?: string;
}

/** A device a person removed (IDENT-5). */
export interface DeviceRemovedEvent {
  readonly userId: string;
  readonly deviceId: string;
}

/**
 * SUB-2: someone this user follows posted in a public room this user is not in. The post itself
 * is MLS ciphertext for the room's members: this says only who, where and when.
 */
export interface FollowedPostEvent {
  readonly roomId: string;
  readonly from: { readonly userId: string; readonly username: string };
  /** The server's time stamp (ms). */
  readonly ts: number;
}

export interface ClientEvents {
  message: MessageEvent;
  membership: MembershipEvent;
  presence: PresenceEvent;
  typing: TypingEvent;
  invited: InvitedEvent;
  /** A direct conversation someone opened with this user (ROOM-8), or a room this user joined. */
  room: RoomView;
  /** A person's identity key is not the one pinned: the alarm (trust `changed` or `changed_unverified`). */
  identity_changed: IdentityChange;
  /** A device certified by a person's pinned identity key, seen for the first time: no alarm. */
  device_added: DeviceAdded;
  /**
   * IDENT-5: a person (this user included) removed one of their devices, by a revocation their
   * pinned identity key signed: no alarm; its leaves leave the groups, and it is never trusted again.
   */
  device_removed: DeviceRemovedEvent;
  /**
   * IDENT-5: this very device was removed from its account by another of its devices. Its keys
   * and stored state are erased and the client is stopped; sign in and link it to use it again.
   */
  this_device_removed: DeviceRemovedEvent;
  queue_missed: QueueMissedEvent;
  /**
   * POLICY-2: the server's signed policy (or its key) differs from the one pinned for it; the
   * pin stays until the person acknowledges it (PolicyPins.accept).
   */
  policy_changed: Extract<PolicyCheck, { state: "changed" }>;
  followed_post: FollowedPostEvent;
  delivery: DeliveryEvent;
  status: ConnectionStatus;
  error: ErrorEvent;
}
