/** The chat model's types: its snapshot, messages, changes, and the slices of ParleyClient and history it uses. */
import type { MemberView, RoomView, TotpStatus, UserView, UserWithPresence } from "@parley/protocol";
import type { ParleyClient } from "../client.js";
import type { ConnectionStatus } from "../connection.js";
import type { ErrorEvent, InvitedEvent, MembershipEvent, PresenceEvent } from "../events.js";
import type { FileDescriptor } from "../files.js";
import type { IdentityChange, TrustState } from "../pins.js";
import type { PolicyCheck } from "../server-policy.js";
import type { Typist } from "../typing.js";
import type { NotifyLevel } from "./notify.js";

/** What the chat model needs of a ParleyClient: its public API, so a fake can stand in for it. */
export type ChatClient = Pick<
  ParleyClient,
  | "on"
  | "user"
  | "deviceId"
  | "status"
  | "rooms"
  | "users"
  | "members"
  | "trust"
  | "send"
  | "delivery"
  | "markRead"
  | "readReceipts"
  | "setReadReceipts"
  | "typing"
  | "createRoom"
  | "join"
  | "leave"
  | "invite"
  | "remove"
  | "ban"
  | "unban"
  | "bans"
  | "block"
  | "unblock"
  | "blocked"
  | "discoverRooms"
  | "findPublicRoom"
  | "updateRoom"
  | "setRole"
  | "invitations"
  | "decline"
  | "deleteRoom"
  | "changePassword"
  | "createRecoveryCodes"
  | "recoveryCodesLeft"
  | "admin"
  | "twoFactorStatus"
  | "openDirect"
  | "markVerified"
  | "acceptKeyChange"
  | "identityStatus"
  | "startLink"
  | "linkDevice"
  | "resetIdentity"
  | "devices"
  | "fileLimits"
  | "checkFile"
  | "uploadFile"
  | "downloadFile"
  | "deleteFile"
  | "subscribe"
  | "unsubscribe"
  | "subscriptions"
>;

/**
 * A file, photo or voice note in a conversation (ChatMessage.attachment): what to show, from
 * the sender's descriptor. `file` (id, key, hash) is there once uploaded, and goes once a
 * view-once attachment was opened on one of this user's devices (`opened`).
 */
export interface ChatAttachment {
  readonly name: string;
  readonly type: string;
  /** Plaintext bytes. */
  readonly size: number;
  readonly width?: number;
  readonly height?: number;
  readonly durationMs?: number;
  /** The sender's preview, base64, and its MIME type. */
  readonly thumbnail?: string;
  readonly thumbnailType?: string;
  /** Voice notes: loudness samples 0-255. */
  readonly waveform?: readonly number[];
  readonly viewOnce?: true;
  /** When the server deletes the file (ms); downloads fail with `file_expired` after. */
  readonly expiresAt?: number;
  /** What download() needs; absent while uploading, and after a view-once attachment was opened. */
  readonly file?: FileDescriptor;
  /** View once: opened (on any of this user's devices, or by the other person of a direct conversation). */
  readonly opened?: true;
}

/** An upload or download in progress or just ended (ChatSnapshot.transfers, keyed by message key). */
export interface ChatTransfer {
  readonly roomId: string;
  readonly direction: "upload" | "download";
  /** Plaintext bytes moved, of `total`. */
  readonly done: number;
  readonly total: number;
  readonly state: "running" | "done" | "failed" | "cancelled";
  /** For `failed`: the error's code (`file_expired`, `not_found`, `file_corrupt`, ...). */
  readonly code?: string;
}

/** A person as the model knows them: an account id and its user name. */
export interface Person {
  readonly id: string;
  readonly username: string;
}

/**
 * Where one of this device's own messages is (RCPT-2), forward only: `sending` (not yet accepted
 * by the server), `sent` (accepted), `delivered` (every member device of the group it was sent
 * to acknowledged it), `read` (delivered, and someone else saw it), or `failed` (not accepted).
 */
export type OutgoingStatus = "sending" | "sent" | "delivered" | "read" | "failed";

/** One line of a conversation. */
export interface ChatMessage {
  /**
   * The message id its sender chose at compose time (RCPT-3), the same in every copy; for
   * content from older clients, the server's message id. Unique per sender (`fromId`).
   */
  readonly key: string;
  readonly roomId: string;
  readonly fromId: string;
  readonly fromName: string;
  /** When its sender composed it (RCPT-3), or the server's time stamp for older content (ms). */
  readonly ts: number;
  readonly text: string;
  /** Sent from this account (this device or another of the user's devices). */
  readonly own: boolean;
  /** For messages sent from this device: see OutgoingStatus. */
  readonly status?: OutgoingStatus;
  /** For messages sent from this device once sent: member devices that have it, of all ("n of m"). */
  readonly progress?: { readonly delivered: number; readonly of: number };
  /** The sender's key trust when the message arrived. */
  readonly trust?: TrustState;
  /** When every member's device removes it (ms): set by the conversation's disappearing timer. */
  readonly expiresAt?: number;
  /**
   * A line about the conversation, not from a person: a timer set by `fromName`, or a room event
   * (ROOM-9: "alice invited bob", "bob was removed by alice"); `text` says it.
   */
  readonly system?: true;
  /** A file, photo or voice note (`text` is then empty). */
  readonly attachment?: ChatAttachment;
  /** CHAT-1: the message this one replies to (ChatModel.quoteOf() finds and quotes it). */
  readonly replyTo?: MessageKey;
  /** CHAT-5: the user ids its text names with @ (as its sender's client resolved them). */
  readonly mentions?: readonly string[];
  /** CHAT-2: each person's latest reaction per emoji, taken back ones included (reactionGroups()). */
  readonly reactions?: readonly ReactionEntry[];
  /** CHAT-3: the latest edit applied (its sender's time and id); `text` is the edited text. */
  readonly edited?: { readonly at: number; readonly id: string };
  /** CHAT-4: deleted by its sender for everyone: `text` is empty, the original is not kept. */
  readonly deleted?: true;
}

/** A message by the one thing that names it everywhere (RCPT-3): its sender and its id. */
export interface MessageKey {
  readonly key: string;
  readonly fromId: string;
}

/**
 * CHAT-2: one person's latest reaction with one emoji, by its sender's time and id; one taken
 * back stays (`on` false), so an older reaction that arrives late does not bring it back.
 */
export interface ReactionEntry {
  readonly emoji: string;
  readonly userId: string;
  readonly username: string;
  readonly on: boolean;
  readonly at: number;
  readonly id: string;
}

/** CHAT-2..4: what a reaction, an edit or a delete does to the message it names. */
export type MessageChange =
  | { readonly kind: "reaction"; readonly emoji: string; readonly on: boolean }
  | { readonly kind: "edit"; readonly text: string; readonly mentions?: readonly string[] }
  | { readonly kind: "delete" };

/**
 * A reaction, edit or delete as it arrived: who sent it, when (its sender's time) and its id.
 * One whose message has not arrived yet (redelivery, an offline device) waits for it.
 */
export interface PendingChange {
  readonly target: MessageKey;
  readonly by: Person;
  readonly at: number;
  readonly id: string;
  readonly change: MessageChange;
}

/**
 * Everything the model knows, as one immutable value: a change makes a new snapshot, so a view
 * compares by identity. Records are keyed by room id (canonical, as the server sends it) or user id.
 */
export interface ChatSnapshot {
  readonly me: UserView | undefined;
  readonly connection: ConnectionStatus;
  /** Rooms and direct conversations this user is in. */
  readonly rooms: readonly RoomView[];
  /** Every account on the server, with presence. */
  readonly people: readonly UserWithPresence[];
  readonly members: Readonly<Record<string, readonly MemberView[]>>;
  /** The other person of each direct conversation, resolved once. */
  readonly peers: Readonly<Record<string, Person>>;
  /** What this device's pins say about each member's identity key (pins.ts). */
  readonly trust: Readonly<Record<string, TrustState>>;
  /** Who is typing in each room, in the order they started. */
  readonly typing: Readonly<Record<string, readonly Typist[]>>;
  readonly unread: Readonly<Record<string, number>>;
  /** Each conversation's disappearing-message timer in seconds (absent: off). */
  readonly disappearing: Readonly<Record<string, number>>;
  readonly messages: Readonly<Record<string, readonly ChatMessage[]>>;
  /**
   * "bob added a device", "bob removed a device": news about people's devices, oldest first,
   * shown as quiet lines in the conversations they are in, and kept with the history.
   */
  readonly deviceNotes: readonly DeviceNote[];
  /** Invitations to rooms this user is not in yet. */
  readonly invitations: readonly InvitedEvent[];
  /** Uploads and downloads by message key: progress while running, then how they ended. */
  readonly transfers: Readonly<Record<string, ChatTransfer>>;
  /**
   * Issue 18.5: the notification level this device's person chose per conversation; one not
   * here has its default (defaultNotifyLevel; ChatModel.notifyLevel() resolves both).
   */
  readonly notify: Readonly<Record<string, NotifyLevel>>;
  /** Whether notifications on this device may show a message's text (default false). */
  readonly previews: boolean;
  /** SUB-1: the people this user follows. */
  readonly following: readonly Person[];
  /**
   * SUB-2: public rooms this user is not in where someone they follow posted, newest first, one
   * per room: an offer to join and read what is said there from then on.
   */
  readonly followedPosts: readonly FollowedPost[];
  /** POLICY-1, POLICY-2 and AUTH-13: what the client knows of its server and this account. */
  readonly server: ServerState;
}

/** The server's signed policy as last checked, and this account's two-step sign-in. */
export interface ServerState {
  /** The last policy check (undefined before the first, or with no policy watch). */
  readonly policy: PolicyCheck | undefined;
  /** Why the last policy check failed, as thrown; undefined after a good one. */
  readonly policyError: unknown;
  /** This account's TOTP status (AUTH-13), read on each connection; undefined until then. */
  readonly totp: TotpStatus | undefined;
}

/** A followed person posted in a public room this user is not in (ChatSnapshot.followedPosts). */
export interface FollowedPost {
  readonly roomId: string;
  /** The latest poster. */
  readonly by: Person;
  /** When (the server's time, ms). */
  readonly at: number;
  /** Posts there by people this user follows since the offer appeared. */
  readonly count: number;
}

/**
 * What happened, told to subscribers after the snapshot reflects it. `state` is any other change
 * of the snapshot. The rest are things a view may announce (a line, a notice, a sound).
 */
export type ChatChange =
  | { readonly type: "state" }
  | { readonly type: "status"; readonly status: ConnectionStatus }
  /**
   * A message arrived from someone else, or from another device of this user; or a system line
   * (`message.system`: a timer, a room event) was added.
   */
  | { readonly type: "message"; readonly message: ChatMessage }
  /** The server told this device about a conversation (SDK `room`); `isNew` when it was not known. */
  | { readonly type: "conversation"; readonly room: RoomView; readonly isNew: boolean }
  | { readonly type: "membership"; readonly event: Extract<MembershipEvent, { source: "room" }> }
  | { readonly type: "presence"; readonly event: PresenceEvent }
  | { readonly type: "typing"; readonly roomId: string }
  | { readonly type: "invited"; readonly invitation: InvitedEvent }
  /** A person's identity key changed: `changed` (had been verified: block sending) or `changed_unverified` (a notice). */
  | { readonly type: "identity_changed"; readonly change: IdentityChange }
  /** A person (this user included) has a new device certified by their identity key: "bob added a device". */
  | { readonly type: "device_added"; readonly userId: string; readonly deviceId: string }
  /** A person (this user included) removed one of their devices (IDENT-5): "bob removed a device". */
  | { readonly type: "device_removed"; readonly userId: string; readonly deviceId: string }
  /** This very device was removed from the account by another of its devices; its keys are erased. */
  | { readonly type: "this_device_removed" }
  /** CHAT-2..4: someone (this user included) reacted to, edited or deleted `message` (as it is now). */
  | {
      readonly type: "changed";
      readonly message: ChatMessage;
      readonly change: MessageChange;
      readonly by: Person;
    }
  | { readonly type: "queue_missed"; readonly dropped: number }
  /**
   * POLICY-2: the server's signed policy (or its key) differs from the pinned one, seen for the
   * first time (once per change, not on every reconnect); it stays in `snapshot.server.policy`
   * until acceptServerPolicy().
   */
  | { readonly type: "policy_changed"; readonly check: Extract<PolicyCheck, { state: "changed" }> }
  /** SUB-2: a followed person posted in a public room this user is not in; `isNew` for a room not offered yet. */
  | { readonly type: "followed_post"; readonly post: FollowedPost; readonly isNew: boolean }
  | { readonly type: "error"; readonly event: ErrorEvent }
  /**
   * Work the model did on its own failed: `refresh` (rooms and people after connecting),
   * `send` (an outbox message, now `failed`, `key` says which), `history` (a message could not
   * be kept in the history; it is shown anyway), `file` (a view-once notice or deletion).
   */
  | {
      readonly type: "failed";
      readonly what: "refresh" | "send" | "history" | "file";
      readonly error: unknown;
      readonly key?: string;
    };

/** A person added or removed a device (issue 14): news, never an alarm. */
export interface DeviceNote {
  readonly userId: string;
  readonly deviceId: string;
  readonly kind: "added" | "removed";
  /** When this device learnt of it (ms). */
  readonly at: number;
}

/** What the model keeps per conversation besides its messages, and the device notes. */
export interface ChatRoomState {
  readonly unread: Readonly<Record<string, number>>;
  /** Disappearing timers in seconds. */
  readonly disappearing: Readonly<Record<string, number>>;
  /** Absent in what older versions kept. */
  readonly deviceNotes?: readonly DeviceNote[];
  /** Reactions, edits and deletes still waiting for their message, per conversation. */
  readonly pending?: Readonly<Record<string, readonly PendingChange[]>>;
  /** Notification levels chosen per conversation (absent in what older versions kept). */
  readonly notify?: Readonly<Record<string, NotifyLevel>>;
  /** Notification previews on (absent: off). */
  readonly previews?: boolean;
  /**
   * The conversations this device was in when it last heard from the server, and the other
   * person of each direct one: a cold start lists them at once, before it is connected (issue
   * 20). The server's list replaces them as soon as it answers. Absent in what older versions kept.
   */
  readonly rooms?: readonly RoomView[];
  readonly peers?: Readonly<Record<string, Person>>;
}

/**
 * Where a platform keeps the messages of each conversation between sessions (history.ts over
 * the device's sealed store). Without one, messages live in the model's memory only.
 */
export interface ChatHistory {
  /** Messages older than this (ms) are removed from memory and from the history; default none. */
  readonly maxAgeMs?: number | undefined;
  loadAll(): Promise<Record<string, readonly ChatMessage[]>>;
  /** Keeps the unread counts and timers; may write later. */
  saveRooms?(state: ChatRoomState): void;
  loadRooms?(): Promise<ChatRoomState | undefined>;
  /** Keeps a conversation's messages; may write later (batched). Messages still sending may be left out. */
  save(roomId: string, list: readonly ChatMessage[]): void;
  /** Keeps a conversation's messages; resolves once they are stored. */
  saveNow(roomId: string, list: readonly ChatMessage[]): Promise<void>;
  remove(roomId: string): Promise<void>;
}
