import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToBase64, encodeContent } from "@parley/client";
import { createGroup, encryptApplicationMessage, generateDeviceIdentity } from "@parley/crypto";
import { maxMessageChars } from "./limits.js";

// The composer's counter must never allow a message whose encrypted frame the server refuses:
// measure the real frame for the worst case (4-byte characters) at a few frame limits.
test("the longest allowed message, in 4-byte characters, fits the server's frame limit once encrypted", async () => {
  const me = await generateDeviceIdentity({ userId: "alice", deviceId: "browser" });
  let state = await createGroup(me);
  for (const maxFrameBytes of [8_192, 16_384, 262_144]) {
    const chars = maxMessageChars(maxFrameBytes);
    assert.ok(chars > 0, `no room at ${maxFrameBytes}`);
    const text = "😀".repeat(chars);
    const { state: next, message } = await encryptApplicationMessage(state, encodeContent(text));
    state = next;
    const frame = JSON.stringify({
      type: "message.send",
      rid: "r-999999",
      to: { room: "ABCDEF" },
      payload: bytesToBase64(message),
    });
    assert.ok(
      new TextEncoder().encode(frame).length <= maxFrameBytes,
      `${chars} chars make a ${frame.length}-byte frame over ${maxFrameBytes}`,
    );
  }
});

test("the limit is 4,000 characters when the server allows more, and never negative", () => {
  assert.equal(maxMessageChars(262_144), 4_000);
  assert.equal(maxMessageChars(undefined), 4_000);
  assert.equal(maxMessageChars(100), 0);
  assert.ok(maxMessageChars(8_192) < 4_000);
});
