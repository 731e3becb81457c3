import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ClientFrame, ServerFrameOf } from "@parley/protocol";
import { OfflineInbox } from "./offline-inbox.js";
import { MemoryStore } from "./store.js";

function message(id: string, seq?: number): ServerFrameOf<"message"> {
  return {
    type: "message",
    id,
    ts: 1,
    from: { id: "u1", username: "alice" },
    room: "ROOM01",
    payload: "AAAA",
    ...(seq !== undefined ? { queued: true as const, seq } : {}),
  };
}

function setup(store = new MemoryStore()) {
  const sent: ClientFrame[] = [];
  const decrypted: string[] = [];
  const box = new OfflineInbox((f) => {
    sent.push(f);
    return true;
  }, store);
  /** Delivers frames as the client does: all arrive, then each is handled in order. */
  async function deliver(...frames: ServerFrameOf<"message">[]) {
    const fresh = frames.map((f) => box.arrived(f));
    for (const [i, f] of frames.entries()) {
      await box.handle(f, fresh[i] === true, async () => {
        decrypted.push(f.id);
      });
    }
  }
  return { sent, decrypted, deliver, store };
}

describe("OfflineInbox", () => {
  test("decrypts a server id once, whether it comes live or queued", async () => {
    const { decrypted, deliver } = setup();
    await deliver(message("a"), message("a", 1), message("b", 2), message("b", 2));
    assert.deepEqual(decrypted, ["a", "b"]);
  });

  test("acknowledges a burst of queued messages once, with the highest seq, after the last is handled", async () => {
    const { sent, deliver } = setup();
    await deliver(message("a", 3), message("b", 4), message("c", 7));
    assert.deepEqual(sent, [{ type: "queue.ack", upTo: 7 }]);
  });

  test("never acknowledges live messages", async () => {
    const { sent, deliver } = setup();
    await deliver(message("a"), message("b"));
    assert.deepEqual(sent, []);
  });

  test("acknowledges a message whose decryption failed, and goes on", async () => {
    const store = new MemoryStore();
    const sent: ClientFrame[] = [];
    const box = new OfflineInbox((f) => Boolean(sent.push(f)), store);
    const bad = message("bad", 1);
    box.arrived(bad);
    await assert.rejects(
      box.handle(bad, true, async () => {
        throw new Error("epoch gone");
      }),
    );
    assert.deepEqual(sent, [{ type: "queue.ack", upTo: 1 }]);
  });

  test("after a restart, skips queued entries already handled and acknowledges them again", async () => {
    const store = new MemoryStore();
    const first = setup(store);
    await first.deliver(message("a", 1), message("b", 2));
    // The acks were lost; a new client on the same store gets both again, and a new one.
    const second = setup(store);
    await second.deliver(message("a", 1), message("b", 2), message("c", 3));
    assert.deepEqual(second.decrypted, ["c"]);
    assert.deepEqual(second.sent, [{ type: "queue.ack", upTo: 3 }]);
  });

  test("forgets the oldest ids beyond its bound", () => {
    const box = new OfflineInbox(() => true, new MemoryStore());
    for (let i = 0; i <= 4096; i++) box.arrived(message(`m${i}`));
    assert.equal(box.arrived(message("m0")), true, "the oldest id was forgotten");
    assert.equal(box.arrived(message("m4096")), false);
  });
});
