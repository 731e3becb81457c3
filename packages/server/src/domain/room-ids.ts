import { randomInt } from "node:crypto";
import { ROOM_ID_ALPHABET, ROOM_ID_LENGTH } from "@parley/protocol";

/** ROOM-1: a new random room id, in canonical (upper-case) form. */
export function newRoomId(): string {
  let id = "";
  for (let i = 0; i < ROOM_ID_LENGTH; i++) id += ROOM_ID_ALPHABET[randomInt(ROOM_ID_ALPHABET.length)];
  return id;
}
