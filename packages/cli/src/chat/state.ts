import { type ChatSnapshot, type Person, usernameKey } from "@parley/client";
import { canonicalRoomId, type RoomView } from "@parley/protocol";
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
    const id = canonicalRoomId(roomId);
    return this.chat().rooms.find((r) => r.id === id);
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

  /**
   * The conversation `/switch target` means: a room id, "#name" or a name (exactly one room of
   * that name), or "@user" for a direct conversation already open.
   */
  resolve(target: string): { roomId: string } | { error: string } {
    const byId = this.room(target);
    if (byId) return { roomId: byId.id };
    const { rooms, peers } = this.chat();
    if (target.startsWith("@")) {
      const key = usernameKey(target.slice(1));
      for (const [roomId, peer] of Object.entries(peers))
        if (usernameKey(peer.username) === key && this.room(roomId) !== undefined) return { roomId };
      return { error: `no direct conversation with ${target.slice(1)} yet (send one with /msg)` };
    }
    const name = (target.startsWith("#") ? target.slice(1) : target).toLowerCase();
    const matches = rooms.filter((r) => r.kind === "room" && r.name.toLowerCase() === name);
    if (matches.length === 1 && matches[0]) return { roomId: matches[0].id };
    if (matches.length > 1)
      return { error: `several rooms are called ${name}: use the room id (see /rooms)` };
    return { error: `you are in no room ${target} (see /rooms, or /join <room-id>)` };
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
