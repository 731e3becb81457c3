/** The line a room event shows in its conversation for every member, in both clients (ROOM-9). */
import { assertNever } from "@parley/protocol";
import type { MembershipEvent } from "../events.js";

type RoomEvent = Extract<MembershipEvent, { source: "room" }>;

/**
 * What a room event says in the conversation, for every member, in every client (ROOM-9):
 * "alice invited bob", "carol joined", "bob was removed by alice", "alice renamed the room to
 * ops". One line per setting an `updated` event changed. Names are shown as the server sent
 * them; ROOM-10 and the username rules keep them printable.
 */
export function roomEventLines(e: RoomEvent): string[] {
  const who = e.username;
  const by = e.by?.username;
  switch (e.event) {
    case "joined":
      return [`${who} joined`];
    case "left":
      return [`${who} left`];
    case "removed":
      return [by !== undefined ? `${who} was removed by ${by}` : `${who} was removed`];
    case "invited":
      return [by !== undefined ? `${by} invited ${who}` : `${who} was invited`];
    case "declined":
      return [by !== undefined ? `${who} declined ${by}'s invitation` : `${who} declined the invitation`];
    case "deleted":
      return [`${who} deleted the room`];
    case "banned":
      return [by !== undefined ? `${who} was banned by ${by}` : `${who} was banned`];
    case "unbanned":
      return [by !== undefined ? `${by} lifted ${who}'s ban` : `${who}'s ban was lifted`];
    case "owner":
      return [`${who} is now the owner`];
    case "account_deleted":
      return [by !== undefined ? `${who}'s account was deleted by an admin` : `${who} deleted their account`];
    case "role":
      return [
        e.role === "moderator"
          ? `${by ?? "the owner"} made ${who} a moderator`
          : `${by ?? "the owner"} made ${who} a member`,
      ];
    case "updated":
      return (e.changes ?? []).map((change) => {
        const room = e.room;
        switch (change) {
          case "name":
            return `${who} renamed the room to ${room?.name ?? "?"}`;
          case "topic":
            return room?.topic ? `${who} set the topic to "${room.topic}"` : `${who} cleared the topic`;
          case "privacy":
            return room?.isPublic
              ? `${who} made the room public: listed, anyone may join`
              : `${who} made the room private: by invitation only`;
          case "cap":
            return room?.maxMembers !== undefined
              ? `${who} set the member cap to ${room.maxMembers}`
              : `${who} removed the member cap`;
          case "passphrase":
            return room?.hasPassphrase
              ? `${who} set a join passphrase`
              : `${who} removed the join passphrase`;
          default:
            return assertNever(change);
        }
      });
    default:
      return assertNever(e.event);
  }
}
