import {
  badgeCount,
  type ChatSnapshot,
  DEFAULT_RETENTION,
  emptyChatSnapshot,
  type HistoryRetention,
  notifyLevelIn,
} from "@parley/client";
import type { InfoResponse, RoomView } from "@parley/protocol";
import { computed, signal } from "@preact/signals";

/**
 * The page's state as signals: components read them, only state/session.ts writes them. The
 * chat itself (conversations, people, messages, ...) is the ChatModel's snapshot, in `chat`;
 * the rest is this page's view state. Plain data, replaced rather than mutated.
 */

export type { ChatMessage } from "@parley/client";

/** `link`: signed in on a browser without the person's identity key: link it or reset (issue 14). */
export type Route = "signin" | "register" | "reset" | "trust" | "app" | "link";

export type ThemeChoice = "system" | "modern-light" | "modern-dark" | "terminal";

/** The signed-in account's chat model, as its latest snapshot. */
export const chat = signal<ChatSnapshot>(emptyChatSnapshot());

export const me = computed(() => chat.value.me);
export const connection = computed(() => chat.value.connection);
export const rooms = computed(() => chat.value.rooms);
export const people = computed(() => chat.value.people);
export const messages = computed(() => chat.value.messages);
export const unread = computed(() => chat.value.unread);
/** roomId -> disappearing timer in seconds (absent: off). */
export const disappearing = computed(() => chat.value.disappearing);
/** roomId -> who is typing there now. */
export const typing = computed(() => chat.value.typing);
export const trust = computed(() => chat.value.trust);
export const members = computed(() => chat.value.members);
export const invitations = computed(() => chat.value.invitations);
/** Issue 18.5: unread messages outside muted conversations, for the title and the app icon. */
export const badge = computed(() => badgeCount(chat.value.unread, (id) => notifyLevelIn(chat.value, id)));
/** Message key -> its file's upload or download: progress while running, then how it ended. */
export const transfers = computed(() => chat.value.transfers);

export const route = signal<Route>("signin");
/** Issue 19: whether the admin area fills the main column (its link is shown to admins only). */
export const adminOpen = signal(false);
/** An invite code from an invite link (`#invite=<code>`), to prefill the registration form. */
export const pendingInvite = signal<string | undefined>(undefined);
export const serverInfo = signal<InfoResponse | undefined>(undefined);
export const selectedRoom = signal<string | undefined>(undefined);
/** A short message about something that failed outside a form (shown in a live region). */
export const notice = signal<string | undefined>(undefined);
export const theme = signal<ThemeChoice>("system");
/** What this device keeps of the signed-in account's messages (Settings). */
export const retention = signal<HistoryRetention>(DEFAULT_RETENTION);
/** RCPT-1: whether this user shares read receipts (and so sees other people's). */
export const readReceipts = signal(true);
/** False when this page cannot keep encrypted state (not a secure context). */
export const persistent = signal(true);

/** A message by its conversation, sender and id (RCPT-3). */
export interface MessageRef {
  readonly roomId: string;
  readonly key: string;
  readonly fromId: string;
}

/** CHAT-1, CHAT-3: the composer answers a message (`reply`) or changes one of this user's (`edit`). */
export const composing = signal<(MessageRef & { readonly mode: "reply" | "edit" }) | undefined>(undefined);
/** A message to scroll to and mark (a quote or a search hit was opened); `at` tells repeats apart. */
export const focused = signal<(MessageRef & { readonly at: number }) | undefined>(undefined);

/** The name to show for a conversation: a room's name, or the other person's for a direct one. */
export function conversationName(room: RoomView): string {
  if (room.kind !== "direct") return room.name;
  return chat.value.peers[room.id]?.username ?? room.name;
}

/** The other person of a direct conversation. */
export function directPeer(roomId: string): { id: string; username: string } | undefined {
  return chat.value.peers[roomId];
}
