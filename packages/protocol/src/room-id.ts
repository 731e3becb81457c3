/**
 * ROOM-1: room ids are ROOM_ID_LENGTH characters from an alphabet without look-alikes (no 0/O,
 * 1/I/L), easy to read aloud: 31^6 ≈ 887 million ids. The server makes them in upper case and
 * accepts them in either case.
 */
export const ROOM_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
export const ROOM_ID_LENGTH = 6;

/** The pattern a room id on the wire matches: the alphabet in either case. */
export const ROOM_ID_PATTERN = `^[${ROOM_ID_ALPHABET}${ROOM_ID_ALPHABET.replace(/[0-9]/g, "").toLowerCase()}]{${ROOM_ID_LENGTH}}$`;
const ROOM_ID = new RegExp(ROOM_ID_PATTERN);

/** Whether `value` is a room id, in either case. */
export function isRoomId(value: string): boolean {
  return ROOM_ID.test(value);
}

/**
 * The canonical (upper-case) form of a room id (ROOM-1): every map key, store key and MLS group
 * id uses it, on the server and in clients, so "abc234" and "ABC234" are one room.
 */
export function canonicalRoomId(roomId: string): string {
  return roomId.toUpperCase();
}
