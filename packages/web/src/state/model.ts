import type { ConnectionStatus, InvitedEvent, TrustState } from "@parley/client";
import type { InfoResponse, MemberView, RoomView, UserView, UserWithPresence } from "@parley/protocol";
import { signal } from "@preact/signals";

/**
 * The page's state as signals: components read them, only state/session.ts writes them. Plain
 * data (no class instances), replaced rather than mutated, so a change is one assignment.
 */

export type Route = "signin" | "register" | "trust" | "app";

/** One line of a conversation, as this page shows it. */
export interface ChatMessage {
  /** The server's message id, or a local id while an own message is not yet acknowledged. */
  readonly key: string;
  readonly roomId: string;
  readonly fromId: string;
  readonly fromName: string;
  /** The server's time stamp (ms), or the local time for an own message not yet acknowledged. */
  readonly ts: number;
  readonly text: string;
  /** Sent from this account (this device or another of the user's devices). */
  readonly own: boolean;
  /** For messages sent from this device: sending, delivered (the server acknowledged and relayed it) or failed. */
  readonly status?: "sending" | "delivered" | "failed";
  /** The sender's key trust when the message arrived. */
  readonly trust?: TrustState;
}

export type ThemeChoice = "system" | "modern-light" | "modern-dark" | "terminal";

export const route = signal<Route>("signin");
export const serverInfo = signal<InfoResponse | undefined>(undefined);
export const me = signal<UserView | undefined>(undefined);
export const connection = signal<ConnectionStatus>({ state: "offline", reason: "not_started" });
export const rooms = signal<readonly RoomView[]>([]);
export const people = signal<readonly UserWithPresence[]>([]);
export const selectedRoom = signal<string | undefined>(undefined);
export const messages = signal<Readonly<Record<string, readonly ChatMessage[]>>>({});
export const unread = signal<Readonly<Record<string, number>>>({});
/** roomId -> userId -> username of who is typing there now. */
export const typing = signal<Readonly<Record<string, Readonly<Record<string, string>>>>>({});
export const trust = signal<Readonly<Record<string, TrustState>>>({});
export const members = signal<Readonly<Record<string, readonly MemberView[]>>>({});
export const invitations = signal<readonly InvitedEvent[]>([]);
/** A short message about something that failed outside a form (shown in a live region). */
export const notice = signal<string | undefined>(undefined);
export const theme = signal<ThemeChoice>("system");
export const keepHistory = signal(false);
/** False when this page cannot keep encrypted state (not a secure context). */
export const persistent = signal(true);

/** The name to show for a conversation: a room's name, or the other person's for a direct one. */
export function conversationName(room: RoomView): string {
  if (room.kind !== "direct") return room.name;
  const self = me.value?.id;
  const other = (members.value[room.id] ?? []).find((m) => m.userId !== self);
  return other?.username ?? room.name;
}

/** The other member of a direct conversation. */
export function directPeer(roomId: string): MemberView | undefined {
  const self = me.value?.id;
  return (members.value[roomId] ?? []).find((m) => m.userId !== self);
}

export function usernameOf(userId: string): string | undefined {
  return (
    people.value.find((p) => p.id === userId)?.username ??
    Object.values(members.value)
      .flat()
      .find((m) => m.userId === userId)?.username
  );
}
