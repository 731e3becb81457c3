/** Which conversation `parley chat` has open, and how conversations are named and picked on a terminal. */
import { type ChatSnapshot, findConversation, type Person, roomOf } from "@parley/client";
import { assertNever, canonicalRoomId, type RoomView } from "@parley/protocol";
import { printable } from "../printable.js";

export type UserRef = Person;

/**
 * What `parley chat` keeps beside the chat model: which conversation is current; and how the model's conversations are named and picked on a terminal. Pure, so the
 * rules (how a room is named on screen, what `/switch x` means) are tested on their own.
 */
export class ChatState {
  #current: string | undefined;

  /**
   * `chat` gives the chat model's latest snapshot; `onOpen` hears of every conversation opened
   * (`setCurrent`), so the controller can keep it for the next session.
   */
  constructor(
    private readonly chat: () => ChatSnapshot,
    private readonly onOpen: (roomId: string | undefined) => void = () => undefined,
  ) {}

  get me(): UserRef | undefined {
    const me = this.chat().me;
    return me === undefined ? undefined : { id: me.id, username: me.username };
  }

  get current(): RoomView | undefined {
    return this.#current === undefined ? undefined : this.room(this.#current);
  }

  /** Forgets the signed-in user's choices (logout, another login). */
  reset(): void {
    this.#current = undefined;
  }

  setCurrent(roomId: string | undefined): void {
    this.#current = roomId === undefined ? undefined : canonicalRoomId(roomId);
    this.onOpen(this.#current);
  }

  rooms(): RoomView[] {
    return [...this.chat().rooms].sort((a, b) => this.label(a.id).localeCompare(this.label(b.id)));
  }

  room(roomId: string): RoomView | undefined {
    return roomOf(this.chat(), roomId);
  }

  peer(roomId: string): UserRef | undefined {
    return this.chat().peers[canonicalRoomId(roomId)];
  }

  /** How a conversation is named on screen: "#team" for a room, "@alice" for a direct one. */
  label(roomId: string): string {
    const room = this.room(roomId);
    if (room?.kind === "direct") {
      const peer = this.peer(roomId);
      return peer ? `@${peer.username}` : `@${canonicalRoomId(roomId)}`;
    }
    return `#${room?.name || canonicalRoomId(roomId)}`;
  }

  /** The conversation `/switch target` means (findConversation), or why there is none, in words. */
  resolve(target: string): { roomId: string } | { error: string } {
    const found = findConversation(this.chat(), target);
    if ("roomId" in found) return found;
    switch (found.miss) {
      case "no_direct":
        return { error: `no direct conversation with ${target.slice(1)} yet (send one with /msg)` };
      case "ambiguous":
        return {
          error: `several rooms are called ${(target.startsWith("#") ? target.slice(1) : target).toLowerCase()}: use the room id (see /rooms)`,
        };
      case "unknown":
        return { error: `you are in no room ${target} (see /rooms, or /join <room-id>)` };
      default:
        return assertNever(found.miss);
    }
  }

  /**
   * "#team> ", "@alice> ", or "> " with no conversation open; with who is typing there:
   * "#team (alice typing)> ", "#team (alice, bob typing)> ", "#team (3 typing)> ".
   */
  prompt(): string {
    const room = this.current;
    if (room === undefined) return "> ";
    const typing = (this.chat().typing[room.id] ?? []).map((t) => t.username);
    const who =
      typing.length === 0
        ? ""
        : ` (${typing.length <= 2 ? typing.map((n) => printable(n)).join(", ") : typing.length} typing)`;
    return `${this.label(room.id)}${who}> `;
  }
}
