import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Check } from "typebox/value";
import { RoomIdSchema } from "./common.js";
import { canonicalRoomId, isRoomId, ROOM_ID_ALPHABET, ROOM_ID_LENGTH, ROOM_ID_PATTERN } from "./room-id.js";

const ASCII = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));

test("the alphabet has no look-alikes and no repeats", () => {
  for (const c of "01OIL") assert.ok(!ROOM_ID_ALPHABET.includes(c), c);
  assert.equal(new Set(ROOM_ID_ALPHABET).size, ROOM_ID_ALPHABET.length);
  assert.equal(ROOM_ID_ALPHABET.length, 31);
});

test("a room id is the alphabet's characters in either case, and nothing else", () => {
  for (const c of ASCII) {
    const id = c.repeat(ROOM_ID_LENGTH);
    const expected = ROOM_ID_ALPHABET.includes(c.toUpperCase());
    assert.equal(isRoomId(id), expected, JSON.stringify(c));
    assert.equal(Check(RoomIdSchema, id), expected, JSON.stringify(c));
  }
  assert.equal(isRoomId("ABC23"), false);
  assert.equal(isRoomId("ABC2345"), false);
  assert.equal(isRoomId(" ABC234"), false);
});

test("canonicalRoomId makes one id of both cases and keeps canonical ids as they are", () => {
  assert.equal(canonicalRoomId("abc234"), "ABC234");
  assert.equal(canonicalRoomId("AbC234"), "ABC234");
  assert.equal(canonicalRoomId("ABC234"), "ABC234");
  for (const c of ROOM_ID_ALPHABET.toLowerCase()) {
    assert.ok(isRoomId(canonicalRoomId(c.repeat(6))));
    assert.ok(ROOM_ID_ALPHABET.includes(canonicalRoomId(c)));
  }
});

test("docs/PROTOCOL.md states the same alphabet and the same pattern", () => {
  const doc = readFileSync(new URL("../../../docs/PROTOCOL.md", import.meta.url), "utf8");
  assert.ok(
    doc.includes(`**ROOM-1** Room ids are ${ROOM_ID_LENGTH} characters from \`${ROOM_ID_ALPHABET}\``),
  );
  const documented = /`roomId` string matching\s+`([^`]+)`/.exec(doc)?.[1];
  assert.ok(documented !== undefined, "the frame field table names the roomId pattern");
  const ours = new RegExp(ROOM_ID_PATTERN);
  for (const c of ASCII) {
    const id = c.repeat(ROOM_ID_LENGTH);
    assert.equal(new RegExp(documented).test(id), ours.test(id), JSON.stringify(c));
  }
});
