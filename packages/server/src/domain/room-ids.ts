import { randomInt } from "node:crypto";

/** No 0/O, 1/I/L: ids people read to each other across a room. 31^6 ≈ 887 million ids. */
const ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

export function newRoomId(): string {
  let id = "";
  for (let i = 0; i < 6; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

export function normalizeRoomId(raw: string): string {
  return raw.toUpperCase();
}
