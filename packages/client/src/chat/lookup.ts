/** Finds what a person names or looks at in a chat snapshot: a conversation by name, an invitation, their role, a room's device notes, files, a message in context. */
import { canonicalRoomId, type MemberView, type RoomView } from "@parley/protocol";
import type { InvitedEvent } from "../events.js";
import { usernameKey } from "./model.js";
import type { ChatMessage, ChatSnapshot, DeviceNote } from "./types.js";

/** Why no single conversation answers to a name (findConversation). */
export type ConversationMiss =
  /** "@user" with no direct conversation open with them. */
  | "no_direct"
  /** A name several rooms share: the room id tells them apart. */
  | "ambiguous"
  /** No conversation by that id or name. */
  | "unknown";

/**
 * The conversation `target` means: a room id, "#name" or a name (exactly one room of that
 * name, any case), or "@user" for a direct conversation already open.
 */
export function findConversation(
  s: ChatSnapshot,
  target: string,
): { readonly roomId: string } | { readonly miss: ConversationMiss } {
  const byId = roomOf(s, target);
  if (byId !== undefined) return { roomId: byId.id };
  if (target.startsWith("@")) {
    const key = usernameKey(target.slice(1));
    for (const [roomId, peer] of Object.entries(s.peers))
      if (usernameKey(peer.username) === key && roomOf(s, roomId) !== undefined) return { roomId };
    return { miss: "no_direct" };
  }
  const name = (target.startsWith("#") ? target.slice(1) : target).toLowerCase();
  const matches = s.rooms.filter((r) => r.kind === "room" && r.name.toLowerCase() === name);
  if (matches.length === 1 && matches[0] !== undefined) return { roomId: matches[0].id };
  return { miss: matches.length > 1 ? "ambiguous" : "unknown" };
}

/** A conversation this user is in, by its id in any accepted spelling. */
export function roomOf(s: ChatSnapshot, roomId: string): RoomView | undefined {
  const id = canonicalRoomId(roomId);
  return s.rooms.find((r) => r.id === id);
}

/** The waiting invitations to a room with this id or name ("#name" too, any case). */
export function invitationsTo(s: ChatSnapshot, target: string): InvitedEvent[] {
  const key = target.replace(/^#/, "").toLowerCase();
  return s.invitations.filter((i) => i.room.id.toLowerCase() === key || i.room.name.toLowerCase() === key);
}

/** A member's role in a room as last loaded; "member" when not known. */
export function roleIn(s: ChatSnapshot, roomId: string, userId: string | undefined): MemberView["role"] {
  return s.members[roomId]?.find((m) => m.userId === userId)?.role ?? "member";
}

/** The device notes about a room's members (as last loaded), from `since` on, oldest first. */
export function deviceNotesIn(s: ChatSnapshot, roomId: string, since = 0): DeviceNote[] {
  const inRoom = new Set((s.members[roomId] ?? []).map((m) => m.userId));
  return s.deviceNotes.filter((d) => inRoom.has(d.userId) && d.at >= since);
}

/** The messages with a file, of one conversation or (no `roomId`) of all, in order. */
export function filesIn(s: ChatSnapshot, roomId?: string): ChatMessage[] {
  const lists = roomId === undefined ? Object.values(s.messages) : [s.messages[roomId] ?? []];
  return lists.flat().filter((m) => m.attachment !== undefined);
}

/**
 * A message and up to `around` messages either side of it in its conversation (CHAT-6's "open
 * at this message"); undefined when the conversation no longer holds it.
 */
export function messageInContext(
  s: ChatSnapshot,
  at: { readonly roomId: string; readonly key: string; readonly fromId: string },
  around: number,
): readonly ChatMessage[] | undefined {
  const list = s.messages[at.roomId] ?? [];
  const i = list.findIndex((m) => m.key === at.key && m.fromId === at.fromId);
  return i < 0 ? undefined : list.slice(Math.max(0, i - around), i + around + 1);
}
