import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type ChatMessage,
  ChatModel,
  type ErrorEvent,
  MemoryStore,
  type MessageEvent,
  type ParleyClient,
} from "@parley/client";
import { until } from "../e2e/support/wait.js";
import {
  registerUser,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";
import { linkBySdk, nextEvent, sdkClient } from "./support/sdk.js";
import { TestSocket } from "./support/ws-client.js";

// RCPT-1..5 end to end: real servers, real SDK clients (MLS included), the offline queue off (the
// default: the server keeps no message). A device goes offline by closing its client and comes
// back as a new client on the same store, as an app restart does.

const BOUNDED = { timeout: 120_000 };

/** One device: its store outlives the clients that come and go on it. */
class Device {
  readonly store = new MemoryStore();
  client: ParleyClient;
  messages: MessageEvent[] = [];
  errors: ErrorEvent[] = [];
  #off: (() => void)[] = [];

  constructor(
    readonly ts: TestServer,
    readonly name: string,
  ) {
    this.client = this.#attach();
  }

  #attach(): ParleyClient {
    const client = sdkClient(this.ts, this.store);
    this.#off = [
      client.on("message", (m) => this.messages.push(m)),
      client.on("error", (e) => this.errors.push(e)),
    ];
    return client;
  }

  texts(roomId: string): string[] {
    return this.messages.filter((m) => m.roomId === roomId && m.text !== undefined).map((m) => m.text!);
  }

  async offline(): Promise<void> {
    await this.client.close();
    for (const off of this.#off) off();
  }

  /** Comes back as a restarted app: a new client on the same store. */
  async online(): Promise<void> {
    this.client = this.#attach();
    assert.equal(await this.client.resume(), true);
    await this.client.connect();
  }
}

async function signUp(ts: TestServer, prefix: string): Promise<Device & { id: string; username: string }> {
  const d = new Device(ts, prefix);
  const username = uniqueName(prefix);
  const user = await d.client.register(username, STRONG_PASSWORD);
  await d.client.connect();
  return Object.assign(d, { id: user.id, username });
}

/**
 * Another device of the same account, linked from `of` by code (issue 14: one identity per
 * person), then joined to its rooms by itself (external Commit).
 */
async function secondDevice(ts: TestServer, of: Device & { username: string }): Promise<Device> {
  const d = new Device(ts, `${of.username}-2`);
  await d.client.login(of.username, STRONG_PASSWORD);
  await linkBySdk(of.client, d.client);
  return d;
}

async function sameEpoch(devices: Device[], roomId: string): Promise<void> {
  await until(async () => {
    const epochs = await Promise.all(devices.map((d) => d.client.epoch(roomId)));
    return epochs.every((e) => e !== undefined && e === epochs[0]);
  }, `one epoch for ${roomId}`);
}

const mine = (model: ChatModel, roomId: string, key: string): ChatMessage | undefined =>
  model.snapshot.messages[roomId]?.find((m) => m.key === key);

const noErrors = (...devices: Device[]) => {
  for (const d of devices)
    assert.deepEqual(
      d.errors.map((e) => e.code),
      [],
      `${d.name} reported errors`,
    );
};

describe("delivery states and redelivery without server storage", BOUNDED, () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ frameRate: 1000, frameBurst: 1000 });
  });
  after(async () => {
    await ts.stop();
  });

  test("ticks go sending -> sent -> delivered -> read, delivered only once every device (a second one too) has it", async () => {
    const alice = await signUp(ts, "alice");
    const bob = await signUp(ts, "bob");
    const room = await alice.client.createRoom("ticks", { isPublic: false });
    await alice.client.invite(room.id, bob.id);
    await bob.client.join(room.id);
    const bob2 = await secondDevice(ts, bob);
    await sameEpoch([alice, bob, bob2], room.id);
    const model = new ChatModel(alice.client);
    const bobModel = new ChatModel(bob.client);
    try {
      await model.refresh();
      // Bob's phone is off when alice writes: the server accepts (sent), bob's laptop acknowledges.
      await bob2.offline();
      const statuses: string[] = [];
      model.subscribe(() => {
        const s = model.snapshot.messages[room.id]?.at(-1)?.status;
        if (s !== undefined && statuses.at(-1) !== s) statuses.push(s);
      });
      const sent = await model.send(room.id, "hello both of you");
      await until(async () => bob.texts(room.id).includes("hello both of you"), "bob's laptop has it");
      await until(async () => mine(model, room.id, sent.key)?.progress?.delivered === 1, "1 of 2 delivered");
      assert.equal(
        mine(model, room.id, sent.key)?.status,
        "sent",
        "not delivered while bob's phone lacks it",
      );
      const info = model.deliveryInfo(sent.key);
      assert.equal(info?.of, 2);
      assert.deepEqual(info?.waiting, [`${bob.username} (device ${bob2.client.deviceId?.slice(0, 6)})`]);

      // The phone comes back: alice's device sends it again, re-encrypted, with the same id.
      await bob2.online();
      await until(async () => bob2.texts(room.id).includes("hello both of you"), "bob's phone has it");
      await until(async () => mine(model, room.id, sent.key)?.status === "delivered", "delivered");
      assert.deepEqual(model.deliveryInfo(sent.key)?.waiting, []);
      const copies = bob2.messages.filter((m) => m.text === "hello both of you");
      assert.equal(copies.length, 1);
      assert.equal(copies[0]?.messageId, sent.key);
      assert.equal(copies[0]?.redelivered, true);

      // Bob reads it on his laptop.
      await bobModel.refresh();
      await until(async () => bobModel.snapshot.messages[room.id]?.length === 1, "bob's model shows it");
      bobModel.markRead(room.id);
      await until(async () => mine(model, room.id, sent.key)?.status === "read", "read");
      assert.deepEqual(statuses, ["sending", "sent", "delivered", "read"]);
      assert.deepEqual(model.deliveryInfo(sent.key)?.readBy, [{ id: bob.id, username: bob.username }]);
      noErrors(alice, bob, bob2);
    } finally {
      model.dispose();
      bobModel.dispose();
      await Promise.all([alice.offline(), bob.offline(), bob2.offline()]);
    }
  });

  test("with read receipts off none are sent, and the one who turned them off sees none", async () => {
    const alice = await signUp(ts, "alice");
    const bob = await signUp(ts, "bob");
    const room = await alice.client.createRoom("quiet", { isPublic: false });
    await alice.client.invite(room.id, bob.id);
    await bob.client.join(room.id);
    await sameEpoch([alice, bob], room.id);
    const aliceModel = new ChatModel(alice.client);
    const bobModel = new ChatModel(bob.client);
    try {
      await Promise.all([aliceModel.refresh(), bobModel.refresh()]);
      await bobModel.setReadReceipts(false);
      // Receipts of one device travel in order on its one socket: once a later message of the
      // other side shows delivered, a read receipt queued before it would have arrived.
      const toBob = await aliceModel.send(room.id, "did you read this?");
      await until(async () => bobModel.snapshot.messages[room.id]?.length === 1, "bob has it");
      bobModel.markRead(room.id);
      const ping = await aliceModel.send(room.id, "ping");
      await until(async () => mine(aliceModel, room.id, ping.key)?.status === "delivered", "ping delivered");
      assert.equal(mine(aliceModel, room.id, toBob.key)?.status, "delivered", "bob sent no read receipt");

      // Alice shares hers, but bob, who shares none, sees none.
      const fromBob = await bobModel.send(room.id, "no comment");
      await until(
        async () => aliceModel.snapshot.messages[room.id]?.some((m) => m.key === fromBob.key),
        "alice has it",
      );
      aliceModel.markRead(room.id);
      const pong = await bobModel.send(room.id, "pong");
      await until(async () => mine(bobModel, room.id, pong.key)?.status === "delivered", "pong delivered");
      assert.equal(mine(bobModel, room.id, fromBob.key)?.status, "delivered", "bob sees no read receipt");
      assert.deepEqual(bob.client.delivery(fromBob.key)?.readBy, []);
      assert.deepEqual(alice.client.delivery(toBob.key)?.readBy, []);
      noErrors(alice, bob);
    } finally {
      aliceModel.dispose();
      bobModel.dispose();
      await Promise.all([alice.offline(), bob.offline()]);
    }
  });

  test("a message to an offline teammate arrives once when they come back; a copy is dropped", async () => {
    const alice = await signUp(ts, "alice");
    const bob = await signUp(ts, "bob");
    const room = await alice.client.createRoom("later", { isPublic: false });
    await alice.client.invite(room.id, bob.id);
    await bob.client.join(room.id);
    await sameEpoch([alice, bob], room.id);
    try {
      await bob.offline();
      const ids: string[] = [];
      for (const text of ["one", "two", "three"])
        ids.push((await alice.client.send(room.id, text)).messageId);
      await bob.online();
      await until(async () => bob.texts(room.id).length === 3, "bob has all three");
      assert.deepEqual(bob.texts(room.id), ["one", "two", "three"]);
      await until(async () => alice.client.delivery(ids[2]!)?.delivered.length === 1, "alice hears of it");
      // Bob restarts again: his notice lists what he holds, nothing is sent twice; a copy that
      // does come (sent again by hand, same id) is dropped but acknowledged.
      await bob.offline();
      await bob.online();
      const copy = nextEvent(bob.client, "message", (m) => m.text === "again?", 20_000);
      await alice.client.send(room.id, "one", { messageId: ids[0]!, sentAt: 1 });
      await alice.client.send(room.id, "again?");
      await copy;
      assert.deepEqual(bob.texts(room.id), ["one", "two", "three", "again?"]);
      noErrors(alice, bob);
    } finally {
      await Promise.all([alice.offline(), bob.offline()]);
    }
  });

  test("a third member passes messages on to a teammate who comes back while the sender is offline", async () => {
    const alice = await signUp(ts, "alice");
    const bob = await signUp(ts, "bob");
    const carol = await signUp(ts, "carol");
    const room = await alice.client.createRoom("relay", { isPublic: false });
    for (const d of [bob, carol]) {
      await alice.client.invite(room.id, d.id);
      await d.client.join(room.id);
    }
    await sameEpoch([alice, bob, carol], room.id);
    try {
      await bob.offline();
      const first = await alice.client.send(room.id, "while you were away 1");
      const second = await alice.client.send(room.id, "while you were away 2");
      await until(async () => carol.texts(room.id).length === 2, "carol has both");
      await until(
        async () => alice.client.delivery(second.messageId)?.delivered.length === 1,
        "carol acknowledged",
      );
      await alice.offline();

      // Only carol is online when bob comes back: she passes alice's messages on, signed by alice.
      await bob.online();
      await until(async () => bob.texts(room.id).length === 2, "bob has both");
      assert.deepEqual(bob.texts(room.id), ["while you were away 1", "while you were away 2"]);
      for (const m of bob.messages) {
        assert.equal(m.from.userId, alice.id);
        assert.equal(m.from.deviceId, alice.client.deviceId);
        assert.equal(m.redelivered, true);
      }

      // Alice comes back: her notice asks again, bob acknowledges what carol passed on.
      await alice.online();
      await until(
        async () => [first, second].every((m) => alice.client.delivery(m.messageId)?.delivered.length === 2),
        "alice learns both are delivered",
      );
      assert.deepEqual(
        bob.texts(room.id),
        ["while you were away 1", "while you were away 2"],
        "exactly once",
      );
      noErrors(alice, bob, carol);
    } finally {
      await Promise.all([alice.offline(), bob.offline(), carol.offline()]);
    }
  });

  test("a message deleted for everyone is never sent again: a teammate who was away gets the delete, not the text", async () => {
    const alice = await signUp(ts, "alice");
    const bob = await signUp(ts, "bob");
    const carol = await signUp(ts, "carol");
    const room = await alice.client.createRoom("oops", { isPublic: false });
    for (const d of [bob, carol]) {
      await alice.client.invite(room.id, d.id);
      await d.client.join(room.id);
    }
    await sameEpoch([alice, bob, carol], room.id);
    const model = new ChatModel(alice.client);
    try {
      await model.refresh();
      await bob.offline();
      const oops = await model.send(room.id, "the wifi password is hunter2");
      const fine = await model.send(room.id, "meeting at 3");
      await until(async () => carol.texts(room.id).length === 2, "carol has both");
      await model.deleteForEveryone(room.id, { key: oops.key, fromId: alice.id });
      const deletes = (d: Device) => d.messages.filter((m) => "delete" in m.content);
      await until(async () => deletes(carol).length === 1, "carol has the delete");

      // Bob comes back while alice and carol are both online: both could send him what he lacks
      // (alice her own, carol passing alice's on). Neither sends the deleted text.
      await bob.online();
      await until(
        async () => deletes(bob).length === 1 && bob.texts(room.id).includes("meeting at 3"),
        "bob has the rest",
      );
      await until(
        async () => mine(model, room.id, fine.key)?.status === "delivered",
        "alice learns bob has it",
      );
      assert.deepEqual(bob.texts(room.id), ["meeting at 3"], "never the deleted text");
      const [gone] = deletes(bob);
      assert.ok(gone !== undefined && "delete" in gone.content);
      assert.equal(gone.content.delete.to.id, oops.key);
      noErrors(alice, bob, carol);
    } finally {
      model.dispose();
      await Promise.all([alice.offline(), bob.offline(), carol.offline()]);
    }
  });

  test("malformed, oversized and unauthorised receipts are refused with stable codes; others are unaffected", async () => {
    const alice = await registerUser(ts, uniqueName("alice"));
    const bob = await registerUser(ts, uniqueName("bob"));
    const eve = await registerUser(ts, uniqueName("eve"));
    const auth = async (session: typeof alice, deviceId?: string) => {
      const s = await TestSocket.open(ts);
      s.send({
        type: "auth",
        token: session.accessToken,
        protocolVersion: 1,
        ...(deviceId ? { deviceId } : {}),
      });
      await s.next("ready");
      return s;
    };
    const a = await auth(alice, "alice-dev");
    const b = await auth(bob, "bob-dev");
    const e = await auth(eve, "eve-dev");
    const bare = await auth(alice);
    try {
      const created = await a.call({ type: "room.create", name: "r", isPublic: false });
      assert.equal(created.type, "room");
      const roomId = created.type === "room" ? created.room.id : "";
      assert.equal((await a.call({ type: "room.invite", roomId, userId: bob.user.id })).type, "ok");
      assert.equal((await b.call({ type: "room.join", roomId })).type, "room");
      const id = "0123456789abcdef0123456789abcdef";
      const code = async (s: TestSocket, frame: Record<string, unknown>) => {
        const answer = await s.call({ type: "receipt", ...frame });
        return answer.type === "error" ? answer.code : answer.type;
      };
      assert.equal(
        await code(b, { roomId, to: alice.user.id, ids: ["NOT-HEX"], state: "read" }),
        "validation_failed",
      );
      assert.equal(await code(b, { roomId, to: alice.user.id, ids: [], state: "read" }), "validation_failed");
      const many = Array.from({ length: 101 }, (_, i) => i.toString(16).padStart(32, "0"));
      assert.equal(
        await code(b, { roomId, to: alice.user.id, ids: many, state: "read" }),
        "validation_failed",
      );
      assert.equal(
        await code(b, { roomId, to: alice.user.id, ids: [id], state: "seen" }),
        "validation_failed",
      );
      assert.equal(await code(e, { roomId, to: alice.user.id, ids: [id], state: "read" }), "not_a_member");
      assert.equal(
        await code(b, { roomId, to: eve.user.id, ids: [id], state: "read" }),
        "recipient_not_member",
      );
      assert.equal(
        await code(b, { roomId: "ZZZZZZ", to: alice.user.id, ids: [id], state: "read" }),
        "room_not_found",
      );
      assert.equal(
        await code(bare, { roomId, to: bob.user.id, ids: [id], state: "read" }),
        "device_required",
      );
      // Nothing of the refused ones reached anyone; a good one reaches alice, stamped by the server.
      assert.deepEqual(
        (await a.settle()).filter((f) => f.type === "receipt.event"),
        [],
      );
      b.send({ type: "receipt", roomId, to: alice.user.id, ids: [id], state: "delivered" });
      const relayed = await a.next("receipt.event");
      assert.deepEqual(relayed, {
        type: "receipt.event",
        roomId,
        from: { userId: bob.user.id, deviceId: "bob-dev" },
        ids: [id],
        state: "delivered",
      });
      assert.deepEqual(
        (await e.settle()).filter((f) => f.type === "receipt.event"),
        [],
      );
    } finally {
      for (const s of [a, b, e, bare]) s.close();
    }
  });
});
