import { canonicalRoomId, type RoomView } from "@parley/protocol";
import { printable } from "../printable.js";

export interface UserRef {
  readonly id: string;
  readonly username: string;
}

/**
 * What `parley chat` knows and shows, apart from the SDK's own state: the signed-in user, the
 * conversations and which one is current, the user names seen, who is followed. Pure, so the
 * rules (how a room is named on screen, what `/switch x` means) are tested on their own.
 */
export class ChatState {
  me: UserRef | undefined;
  #current: string | undefined;
  readonly #rooms = new Map<string, RoomView>();
  /** Direct conversation id -> the other user. */
  readonly #peers = new Map<string, UserRef>();
  /** User id -> user name, for everyone seen. */
  readonly #names = new Map<string, string>();
  readonly #following = new Map<string, string>();

  get current(): RoomView | undefined {
    return this.#current === undefined ? undefined : this.#rooms.get(this.#current);
  }

  /** Forgets everything of the signed-in user (logout, another login). */
  reset(): void {
    this.me = undefined;
    this.#current = undefined;
    this.#rooms.clear();
    this.#peers.clear();
    this.#following.clear();
  }

  setCurrent(roomId: string | undefined): void {
    this.#current = roomId === undefined ? undefined : canonicalRoomId(roomId);
  }

  rooms(): RoomView[] {
    return [...this.#rooms.values()].sort((a, b) => this.label(a.id).localeCompare(this.label(b.id)));
  }

  room(roomId: string): RoomView | undefined {
    return this.#rooms.get(canonicalRoomId(roomId));
  }

  setRooms(rooms: readonly RoomView[]): void {
    this.#rooms.clear();
    for (const r of rooms) this.addRoom(r);
    if (this.#current !== undefined && !this.#rooms.has(this.#current)) this.#current = undefined;
  }

  addRoom(room: RoomView): void {
    this.#rooms.set(canonicalRoomId(room.id), room);
  }

  removeRoom(roomId: string): void {
    const id = canonicalRoomId(roomId);
    this.#rooms.delete(id);
    this.#peers.delete(id);
    if (this.#current === id) this.#current = undefined;
  }

  setPeer(roomId: string, peer: UserRef): void {
    this.#peers.set(canonicalRoomId(roomId), peer);
    this.learn(peer);
  }

  peer(roomId: string): UserRef | undefined {
    return this.#peers.get(canonicalRoomId(roomId));
  }

  learn(user: UserRef): void {
    this.#names.set(user.id, user.username);
  }

  nameOf(userId: string): string | undefined {
    return this.#names.get(userId);
  }

  /** The id of a user by name, compared as the server does (NFKC, case-folded). */
  idOf(username: string): string | undefined {
    const key = usernameKey(username);
    for (const [id, name] of this.#names) if (usernameKey(name) === key) return id;
    return undefined;
  }

  setFollowing(users: readonly UserRef[]): void {
    this.#following.clear();
    for (const u of users) this.follow(u);
  }

  follow(user: UserRef): void {
    this.#following.set(user.id, user.username);
    this.learn(user);
  }

  unfollow(userId: string): void {
    this.#following.delete(userId);
  }

  follows(userId: string): boolean {
    return this.#following.has(userId);
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
    if (byId) return { roomId: canonicalRoomId(byId.id) };
    if (target.startsWith("@")) {
      const key = usernameKey(target.slice(1));
      for (const [roomId, peer] of this.#peers) if (usernameKey(peer.username) === key) return { roomId };
      return { error: `no direct conversation with ${target.slice(1)} yet (send one with /msg)` };
    }
    const name = (target.startsWith("#") ? target.slice(1) : target).toLowerCase();
    const matches = [...this.#rooms.values()].filter(
      (r) => r.kind === "room" && r.name.toLowerCase() === name,
    );
    if (matches.length === 1 && matches[0]) return { roomId: canonicalRoomId(matches[0].id) };
    if (matches.length > 1)
      return { error: `several rooms are called ${name}: use the room id (see /rooms)` };
    return { error: `you are in no room ${target} (see /rooms, or /join <room-id>)` };
  }

  /**
   * "#team> ", "@alice> ", or "> " with no conversation open; with who is typing there:
   * "#team (alice typing)> ", "#team (alice, bob typing)> ", "#team (3 typing)> ".
   */
  prompt(typing: readonly string[] = []): string {
    const room = this.current;
    if (room === undefined) return "> ";
    const who =
      typing.length === 0
        ? ""
        : ` (${typing.length <= 2 ? typing.map((n) => printable(n)).join(", ") : typing.length} typing)`;
    return `${this.label(room.id)}${who}> `;
  }
}

/** The server's comparison of user names (storage/username-key.ts): NFKC, then lower case. */
export function usernameKey(name: string): string {
  return name.normalize("NFKC").trim().toLowerCase();
}
