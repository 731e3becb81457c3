import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { AuthContext } from "../domain/accounts.js";
import { asRoomId, asSessionId, asUserId, type UserId } from "../domain/ids.js";
import { SignOn } from "../domain/sign-on.js";
import type { Bus, BusSink, ControlEvent } from "./bus.js";

// Helpers for the bus tests only; nothing in the server imports this module.

/** How the contract suite gets buses from one implementation. */
export interface BusHarness {
  /** A new bus, ready, of a cluster of its own (nothing else shares its state). */
  create(t: TestContext): Promise<Bus>;
  /** Another node of `bus`'s cluster, when the implementation has several (Redis). */
  peer?(t: TestContext, bus: Bus): Promise<Bus>;
}

interface Received {
  userId: string;
  connectionId: string;
  frame: string;
}

/** Stands in for a server's connection registry: local connections and what reached them. */
export class FakeSink<B extends Bus = Bus> implements BusSink {
  readonly received: Received[] = [];
  readonly controls: ControlEvent[] = [];
  /** For each control event, how many frames had arrived before it (their relative order). */
  readonly framesBeforeControl: number[] = [];
  readonly #connections = new Map<string, Set<string>>();
  readonly #devices = new Map<string, string>();

  constructor(readonly bus: B) {
    bus.attach(this);
  }

  /** A local socket of `userId` (for `deviceId`), counted on the bus as the gateway does. */
  async connect(userId: string, deviceId?: string) {
    const connectionId = randomUUID();
    this.local(userId, connectionId, deviceId);
    return { connectionId, ...(await this.bus.connectionOpened(asUserId(userId), connectionId)) };
  }

  /** Registers a local socket without counting it on the bus (SignOn does that). */
  local(userId: string, connectionId: string, deviceId?: string): void {
    let set = this.#connections.get(userId);
    if (!set) {
      set = new Set();
      this.#connections.set(userId, set);
    }
    set.add(connectionId);
    if (deviceId) this.#devices.set(connectionId, `${userId}/${deviceId}`);
  }

  async disconnect(userId: string, connectionId: string) {
    this.#connections.get(userId)?.delete(connectionId);
    this.#devices.delete(connectionId);
    return this.bus.connectionClosed(asUserId(userId), connectionId);
  }

  deliverLocal(userIds: readonly UserId[], frame: Buffer, exceptConnection?: string): void {
    for (const userId of userIds) {
      for (const connectionId of this.#connections.get(userId) ?? []) {
        if (connectionId !== exceptConnection)
          this.received.push({ userId, connectionId, frame: frame.toString("utf8") });
      }
    }
  }

  deliverLocalDevice(userId: UserId, deviceId: string, frame: Buffer): void {
    for (const [connectionId, device] of this.#devices) {
      if (device === `${userId}/${deviceId}`)
        this.received.push({ userId, connectionId, frame: frame.toString("utf8") });
    }
  }

  hasLocalDevice(userId: UserId, deviceId: string): boolean {
    return [...this.#devices.values()].includes(`${userId}/${deviceId}`);
  }

  onControl(event: ControlEvent): void {
    this.controls.push(event);
    this.framesBeforeControl.push(this.received.length);
  }

  framesFor(userId: string): string[] {
    return this.received.filter((r) => r.userId === userId).map((r) => r.frame);
  }

  presence(userId: string): { userId: string; username: string; online: boolean }[] {
    return this.received
      .map((r) => JSON.parse(r.frame) as { type: string; userId: string; username: string; online: boolean })
      .filter((f) => f.type === "presence" && f.userId === userId);
  }
}

/** Deletes every key under the prefix (SCAN + DEL: other tests share this Redis). */
export async function deleteKeys(admin: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== "0");
}

export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

const frame = (text: string) => Buffer.from(JSON.stringify({ type: "test", text }));
const auth = (user: string): AuthContext => ({
  userId: asUserId(user),
  username: user,
  sessionId: asSessionId(`s-${user}-${randomUUID()}`),
  isAdmin: false,
});

/**
 * What every Bus promises the server (bus.ts): fan-out to the local sink, per-device delivery,
 * connection counts and online transitions, the connected-device view, control events, and
 * through them the duplicate-login policy and presence announcements of domain/sign-on.ts.
 */
export function busContract(name: string, harness: BusHarness): void {
  async function node(t: TestContext) {
    return new FakeSink(await harness.create(t));
  }

  describe(name, () => {
    describe("fan-out", () => {
      test("hands a frame to every local connection of the users named, except the sender's", async (t) => {
        const n = await node(t);
        const a1 = await n.connect("alice");
        await n.connect("alice");
        await n.connect("bob");
        await n.connect("carol");
        n.bus.deliver([asUserId("alice"), asUserId("bob")], frame("hi"), a1.connectionId);
        await eventually(() => n.received.length === 2, "delivered");
        assert.deepEqual(n.framesFor("alice").length, 1, "the sending connection gets no copy");
        assert.deepEqual(n.framesFor("bob"), [frame("hi").toString()]);
        assert.deepEqual(n.framesFor("carol"), []);
      });

      test("hands the same bytes through, and nothing for users with no connection", async (t) => {
        const n = await node(t);
        await n.connect("alice");
        const bytes = Buffer.from('{"type":"message","payload":"\\u00ff ✓"}');
        n.bus.deliver([asUserId("nobody"), asUserId("alice")], bytes);
        n.bus.deliver([], frame("to no one"));
        await eventually(() => n.received.length === 1, "delivered");
        assert.equal(n.received[0]?.frame, bytes.toString("utf8"));
      });

      test("sends a device's frame only to that device's connections", async (t) => {
        const n = await node(t);
        await n.connect("alice", "phone");
        await n.connect("alice", "laptop");
        n.bus.deliverToDevice(asUserId("alice"), "phone", frame("commit"));
        await eventually(() => n.received.length === 1, "delivered");
        assert.equal(n.hasLocalDevice(asUserId("alice"), "phone"), true);
        assert.equal(n.received.length, 1, "the laptop got nothing");
      });
    });

    describe("connections and presence", () => {
      test("counts a user's connections and reports coming online and going offline once", async (t) => {
        const n = await node(t);
        const first = await n.connect("alice");
        const second = await n.connect("alice");
        assert.deepEqual([first.count, first.cameOnline], [1, true]);
        assert.deepEqual([second.count, second.cameOnline], [2, false]);
        assert.deepEqual(await n.disconnect("alice", first.connectionId), { wentOffline: false });
        assert.deepEqual(await n.disconnect("alice", second.connectionId), { wentOffline: true });
        assert.deepEqual(
          await n.disconnect("alice", second.connectionId),
          { wentOffline: false },
          "closing twice",
        );
      });

      test("ignores closing a connection it never opened", async (t) => {
        const n = await node(t);
        await n.connect("alice");
        assert.deepEqual(await n.bus.connectionClosed(asUserId("alice"), "not-a-connection"), {
          wentOffline: false,
        });
        assert.deepEqual([...(await n.bus.onlineUserIds())], ["alice"]);
      });

      test("lists the users with a connection", async (t) => {
        const n = await node(t);
        const a = await n.connect("alice");
        await n.connect("bob");
        assert.deepEqual([...(await n.bus.onlineUserIds())].sort(), ["alice", "bob"]);
        await n.disconnect("alice", a.connectionId);
        assert.deepEqual([...(await n.bus.onlineUserIds())], ["bob"]);
      });

      test("answers exactly the devices connected here (RELAY-5)", async (t) => {
        const n = await node(t);
        await n.connect("alice", "phone");
        const got = await n.bus.connectedDevices([
          { userId: asUserId("alice"), deviceId: "phone" },
          { userId: asUserId("alice"), deviceId: "laptop" },
          { userId: asUserId("bob"), deviceId: "phone" },
        ]);
        assert.deepEqual([...got], ["alice\u0000phone"]);
      });

      test("announces a user coming online and going offline to the online users (PRES-1)", async (t) => {
        const n = await node(t);
        const signOn = new SignOn({
          bus: n.bus,
          maxConnectionsPerUser: 8,
          duplicateLogin: "allow",
          onError: (err) => assert.fail(String(err)),
          presenceWindowMs: 5,
        });
        t.after(() => signOn.stop());
        const bob = auth("bob");
        n.local("alice", "a1");
        assert.deepEqual(await signOn.admit(auth("alice"), "a1", () => false), { admitted: true });
        await eventually(() => n.presence("alice").length === 1, "alice's presence");
        assert.deepEqual(n.presence("alice"), [
          { type: "presence", userId: "alice", username: "alice", online: true },
        ]);
        n.local("bob", "b1");
        await signOn.admit(bob, "b1", () => false);
        const toAlice = () =>
          n.received
            .filter((r) => r.userId === "alice")
            .map((r) => JSON.parse(r.frame) as { userId: string; online: boolean })
            .filter((f) => f.userId === "bob")
            .map((f) => f.online);
        await eventually(() => toAlice().length === 1, "bob online");
        await signOn.left(bob.userId, bob.username, "b1");
        await eventually(() => toAlice().length === 2, "bob offline");
        assert.deepEqual(toAlice(), [true, false]);
      });
    });

    describe("duplicate-login policy (LIMIT-3)", () => {
      async function policy(t: TestContext, duplicateLogin: "allow" | "reject", max = 8) {
        const n = await node(t);
        const signOn = new SignOn({
          bus: n.bus,
          maxConnectionsPerUser: max,
          duplicateLogin,
          onError: (err) => assert.fail(String(err)),
          presenceWindowMs: 5,
        });
        t.after(() => signOn.stop());
        return { n, signOn };
      }

      test("reject refuses a second connection of the account and counts it out again", async (t) => {
        const { n, signOn } = await policy(t, "reject");
        const alice = auth("alice");
        assert.deepEqual(await signOn.admit(alice, "c1", () => false), { admitted: true });
        assert.deepEqual(await signOn.admit(alice, "c2", () => false), {
          admitted: false,
          reason: "duplicate_login",
        });
        // The refused one left no count behind: the first stays the only one.
        assert.deepEqual(await n.bus.connectionClosed(alice.userId, "c2"), { wentOffline: false });
        await signOn.left(alice.userId, alice.username, "c1");
        assert.deepEqual([...(await n.bus.onlineUserIds())], []);
        assert.deepEqual(
          await signOn.admit(alice, "c3", () => false),
          { admitted: true },
          "a new login once the first left",
        );
      });

      test("allow admits several connections up to the per-user cap", async (t) => {
        const { signOn } = await policy(t, "allow", 2);
        const alice = auth("alice");
        assert.deepEqual(await signOn.admit(alice, "c1", () => false), { admitted: true });
        assert.deepEqual(await signOn.admit(alice, "c2", () => false), { admitted: true });
        assert.deepEqual(await signOn.admit(alice, "c3", () => false), {
          admitted: false,
          reason: "too_many_connections",
        });
        await signOn.left(alice.userId, alice.username, "c1");
        assert.deepEqual(await signOn.admit(alice, "c4", () => false), { admitted: true });
      });

      test("counts out a socket that closed while it was being admitted, without a reason", async (t) => {
        const { n, signOn } = await policy(t, "allow");
        const alice = auth("alice");
        assert.deepEqual(await signOn.admit(alice, "c1", () => true), { admitted: false });
        assert.deepEqual([...(await n.bus.onlineUserIds())], []);
      });
    });

    describe("device links (IDENT-3)", () => {
      const limits = { maxPerAccount: 2, maxTotal: 100 };
      const link = (user: string, expiresAt = Date.now() + 60_000) => ({
        userId: asUserId(user),
        newDevice: `${user}-new`,
        newKey: "KEY",
        expiresAt,
      });

      test("keeps a link until it is ended, refuses a taken id and more than the account's limit", async (t) => {
        const { links } = await harness.create(t);
        const id = () => randomUUID().slice(0, 10);
        const first = id();
        const now = Date.now();
        const alices = link("alice");
        assert.equal(await links.open(first, alices, limits, now), "ok");
        assert.equal(await links.open(first, link("bob"), limits, now), "taken");
        assert.deepEqual(await links.find(first, now), alices);
        assert.equal(await links.open(id(), link("alice"), limits, now), "ok");
        assert.equal(await links.open(id(), link("alice"), limits, now), "too_many");
        assert.equal(await links.open(id(), link("bob"), limits, now), "ok", "another account's own limit");
        const found = (await links.find(first, now)) ?? assert.fail("open");
        await links.end(first, found);
        assert.equal(await links.find(first, now), undefined);
        assert.equal(
          await links.open(id(), link("alice"), limits, now),
          "ok",
          "an ended link frees its place",
        );
      });

      test("lets one device join a link, once, and forgets an expired one", async (t) => {
        const { links } = await harness.create(t);
        const now = Date.now();
        assert.equal(await links.open("L1", link("alice"), limits, now), "ok");
        assert.equal(await links.join("L1", "laptop", now), true);
        assert.equal(await links.join("L1", "tablet", now), false);
        assert.equal((await links.find("L1", now))?.joiner, "laptop");
        assert.equal(await links.join("nope", "laptop", now), false);
        assert.equal(await links.open("L2", link("alice", now + 50), limits, now), "ok");
        assert.equal(await links.find("L2", now + 50), undefined, "expired");
        assert.equal(await links.join("L2", "laptop", now + 50), false);
      });

      test("is shared by every node of a cluster", async (t) => {
        if (harness.peer === undefined) return t.skip("one node only");
        const a = await harness.create(t);
        const b = await harness.peer(t, a);
        const now = Date.now();
        assert.equal(await a.links.open("SHARED", link("alice"), limits, now), "ok");
        assert.equal(await b.links.join("SHARED", "laptop", now), true);
        assert.equal((await a.links.find("SHARED", now))?.joiner, "laptop");
      });
    });

    describe("control events", () => {
      const events: ControlEvent[] = [
        { type: "session.revoked", sessionId: asSessionId("s1"), reason: "session_revoked" },
        { type: "session.revoked", sessionId: asSessionId("s2"), reason: "account_disabled" },
        { type: "session.revoked", sessionId: asSessionId("s3"), reason: "device_removed" },
        { type: "device.removed", userId: asUserId("bob"), deviceId: "phone" },
        { type: "membership.changed", roomId: asRoomId("ROOM01") },
        { type: "subscriptions.changed", userId: asUserId("alice") },
        { type: "queue.written", devices: [{ userId: asUserId("bob"), deviceId: "phone" }] },
      ];

      test("hands every kind of control event to the local sink at once", async (t) => {
        const n = await node(t);
        for (const event of events) n.bus.publishControl(event);
        assert.deepEqual(n.controls, events);
      });

      test("reports itself healthy while it can reach every node", async (t) => {
        const n = await node(t);
        assert.equal(n.bus.healthy(), true);
      });
    });

    const peer = harness.peer?.bind(harness);
    if (peer) {
      describe("across nodes", () => {
        test("delivers to a user connected on another node", async (t) => {
          const a = await node(t);
          const b = new FakeSink(await peer(t, a.bus));
          await b.connect("bob");
          a.bus.deliver([asUserId("bob")], frame("over there"));
          await eventually(() => b.received.length === 1, "delivered on the other node");
        });

        test("keeps the order of many frames sent in one tick, to users and to devices", async (t) => {
          const a = await node(t);
          const b = new FakeSink(await peer(t, a.bus));
          await b.connect("bob", "phone");
          const sent: string[] = [];
          // More than one batch's worth (bus/redis-bus.ts), with recipients that are nowhere.
          for (let i = 0; i < 2500; i++) {
            const text = `m${i}`;
            if (i % 3 === 0) a.bus.deliverToDevice(asUserId("bob"), "phone", frame(text));
            else a.bus.deliver([asUserId("nobody"), asUserId("bob")], frame(text));
            sent.push(JSON.stringify({ type: "test", text }));
          }
          await eventually(() => b.received.length >= sent.length, "every frame delivered", 20_000);
          assert.deepEqual(
            b.received.map((r) => r.frame),
            sent,
          );
        });

        test("sends the frames of a tick ahead of a control event published after them", async (t) => {
          const a = await node(t);
          const b = new FakeSink(await peer(t, a.bus));
          await b.connect("bob", "phone");
          for (let i = 0; i < 50; i++) a.bus.deliver([asUserId("bob")], frame(`last words ${i}`));
          a.bus.publishControl({ type: "device.removed", userId: asUserId("bob"), deviceId: "phone" });
          await eventually(() => b.controls.length === 1, "the removal on the other node");
          assert.deepEqual(b.framesBeforeControl, [50], "the frames went first");
        });

        test("a node leaving right after sending still delivers what it sent", async (t) => {
          const a = await node(t);
          const b = new FakeSink(await peer(t, a.bus));
          await b.connect("bob");
          a.bus.deliver([asUserId("bob")], frame("goodbye"));
          await a.bus.close();
          await eventually(() => b.received.length === 1, "delivered after the sender left");
          assert.equal(b.received[0]?.frame, JSON.stringify({ type: "test", text: "goodbye" }));
        });

        test("a receiving node going away amid a stream of batches costs the others nothing", async (t) => {
          const a = await node(t);
          const b = new FakeSink(await peer(t, a.bus));
          const c = new FakeSink(await peer(t, a.bus));
          await b.connect("bob");
          await c.connect("carol");
          const sent: string[] = [];
          const send = (i: number) => {
            a.bus.deliver([asUserId("carol"), asUserId("bob")], frame(`n${i}`));
            sent.push(JSON.stringify({ type: "test", text: `n${i}` }));
          };
          for (let i = 0; i < 100; i++) send(i);
          const leaving = c.bus.close();
          for (let i = 100; i < 200; i++) {
            send(i);
            if (i % 20 === 0) await sleep(1);
          }
          await leaving;
          for (let i = 200; i < 300; i++) send(i);
          await eventually(() => b.received.length >= sent.length, "every frame on b", 10_000);
          assert.deepEqual(
            b.received.map((r) => r.frame),
            sent,
          );
          assert.equal(a.bus.healthy(), true);
        });

        test("hands a control event to every other node once", async (t) => {
          const a = await node(t);
          const b = new FakeSink(await peer(t, a.bus));
          await sleep(50);
          a.bus.publishControl({ type: "membership.changed", roomId: asRoomId("ROOM02") });
          await eventually(() => b.controls.length === 1, "received on the other node");
          await sleep(100);
          assert.equal(a.controls.length, 1, "the sender's own copy is not delivered twice");
          assert.equal(b.controls.length, 1);
        });

        test("reject refuses a second login on another node", async (t) => {
          const a = await node(t);
          const b = new FakeSink(await peer(t, a.bus));
          const options = {
            maxConnectionsPerUser: 8,
            duplicateLogin: "reject" as const,
            onError: () => undefined,
          };
          const onA = new SignOn({ bus: a.bus, ...options });
          const onB = new SignOn({ bus: b.bus, ...options });
          t.after(() => {
            onA.stop();
            onB.stop();
          });
          const alice = auth("alice");
          assert.deepEqual(await onA.admit(alice, "c1", () => false), { admitted: true });
          assert.deepEqual(await onB.admit(alice, "c2", () => false), {
            admitted: false,
            reason: "duplicate_login",
          });
        });
      });
    }
  });
}
