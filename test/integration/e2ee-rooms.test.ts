import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  type ClientEvents,
  type ConnectionStatus,
  type DeviceAdded,
  type ErrorEvent,
  type FetchLike,
  type IdentityChange,
  isParleyClientError,
  MemoryStore,
  type MessageEvent,
  ParleyClient,
  type ParleyClientOptions,
  type WebSocketLike,
} from "@parley/client";
import {
  generateDeviceIdentity,
  generateKeyPackages,
  importGroupState,
  isParleyCryptoError,
  processMessage,
} from "@parley/crypto";
import { canonicalRoomId, type ServerFrame, type ServerFrameOf } from "@parley/protocol";
import Database from "better-sqlite3";
import WebSocket from "ws";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { linkBySdk } from "./support/sdk.js";

// ------------------------------------------------------------------ platform pieces for Node

/** The SDK's fetch, on node:https with the test server's CA (as support/harness.ts request()). */
function nodeFetch(ca: string | null): FetchLike {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const send = u.protocol === "https:" ? httpsRequest : httpRequest;
      const headers: Record<string, string> = { ...init.headers };
      if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
      const req = send(u, { method: init.method, headers, ...(ca ? { ca } : {}), agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, text: async () => text });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      if (init.body !== undefined) req.write(init.body);
      req.end();
    });
}

/**
 * What a test sees of one client's sockets: every frame received and sent, a switch that makes
 * the network unreachable, a gate that holds outgoing Commits, and a way to hand the client a
 * frame as if the server had sent it.
 */
class Tap {
  readonly received: ServerFrame[] = [];
  readonly sent: { type: string; [k: string]: unknown }[] = [];
  offline = false;
  /** Frames this returns true for reach the tap but not the client. */
  hide: ((f: ServerFrame) => boolean) | undefined;
  holdCommits: ((release: () => void) => void) | undefined;
  current: WebSocket | undefined;

  constructor(readonly ca: string | null) {}

  /** A WebSocket constructor for the SDK: `ws` with the CA, wrapped so the test can watch. */
  get WebSocket() {
    const tap = this;
    return class TappedSocket implements WebSocketLike {
      readonly #ws: WebSocket;
      constructor(url: string) {
        // Offline: a port nobody listens on, so the connection fails like a dead network.
        this.#ws = new WebSocket(tap.offline ? "wss://127.0.0.1:1/ws" : url, tap.ca ? { ca: tap.ca } : {});
        tap.current = this.#ws;
        this.#ws.on("message", (data) => tap.received.push(JSON.parse(String(data)) as ServerFrame));
      }
      get readyState() {
        return this.#ws.readyState;
      }
      set onopen(h: ((e: never) => void) | null) {
        this.#ws.onopen = h as WebSocket["onopen"];
      }
      set onmessage(h: ((e: never) => void) | null) {
        this.#ws.onmessage =
          h === null
            ? null
            : (event) => {
                if (tap.hide?.(JSON.parse(String(event.data)) as ServerFrame)) return;
                (h as (e: unknown) => void)(event);
              };
      }
      set onclose(h: ((e: never) => void) | null) {
        this.#ws.onclose = h as WebSocket["onclose"];
      }
      set onerror(h: ((e: never) => void) | null) {
        this.#ws.onerror = h as WebSocket["onerror"];
      }
      get onopen() {
        return this.#ws.onopen as ((e: never) => void) | null;
      }
      get onmessage() {
        return this.#ws.onmessage as ((e: never) => void) | null;
      }
      get onclose() {
        return this.#ws.onclose as ((e: never) => void) | null;
      }
      get onerror() {
        return this.#ws.onerror as ((e: never) => void) | null;
      }
      send(data: string) {
        const frame = JSON.parse(data) as { type: string };
        tap.sent.push(frame);
        if (frame.type === "mls.commit" && tap.holdCommits !== undefined) {
          tap.holdCommits(() => this.#ws.send(data));
          return;
        }
        this.#ws.send(data);
      }
      close(code?: number, reason?: string) {
        this.#ws.close(code, reason);
      }
    };
  }

  /** Hands the client a frame as if the server had sent it. */
  inject(frame: unknown): void {
    assert.ok(this.current, "the client has a socket");
    this.current.emit("message", Buffer.from(JSON.stringify(frame)), false);
  }

  count(match: (f: ServerFrame) => boolean): number {
    return this.received.filter(match).length;
  }
}

interface TestClient {
  client: ParleyClient;
  tap: Tap;
  store: MemoryStore;
  id: string;
  username: string;
  errors: ErrorEvent[];
  identityChanges: IdentityChange[];
  devicesAdded: DeviceAdded[];
}

function makeClient(
  ts: TestServer,
  store = new MemoryStore(),
  extra: Partial<ParleyClientOptions> = {},
): Omit<TestClient, "id" | "username"> {
  const tap = new Tap(ts.ca);
  const client = new ParleyClient({
    baseUrl: ts.url,
    fetch: nodeFetch(ts.ca),
    WebSocket: tap.WebSocket,
    store,
    backoff: { baseMs: 100, maxMs: 1000 },
    syncTimeoutMs: 5000,
    ...extra,
  });
  const errors: ErrorEvent[] = [];
  const identityChanges: IdentityChange[] = [];
  const devicesAdded: DeviceAdded[] = [];
  client.on("error", (e) => errors.push(e));
  client.on("identity_changed", (c) => identityChanges.push(c));
  client.on("device_added", (d) => devicesAdded.push(d));
  return { client, tap, store, errors, identityChanges, devicesAdded };
}

/** A registered, connected client with its own device. */
async function signUp(
  ts: TestServer,
  prefix: string,
  extra: Partial<ParleyClientOptions> = {},
): Promise<TestClient> {
  const c = makeClient(ts, new MemoryStore(), extra);
  const username = uniqueName(prefix);
  const user = await c.client.register(username, STRONG_PASSWORD);
  await c.client.connect();
  return { ...c, id: user.id, username };
}

/** Resolves with the next event of `name` that `match` accepts, or fails after `ms`. */
function next<K extends keyof ClientEvents>(
  c: TestClient,
  name: K,
  match: (e: ClientEvents[K]) => boolean = () => true,
  ms = 15_000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${c.username}: no ${String(name)} event within ${ms} ms`));
    }, ms);
    const off = c.client.on(name, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

const textIn = (roomId: string, text: string) => (m: MessageEvent) => m.roomId === roomId && m.text === text;

/** Sends `text` from one client and checks that every other one decrypts it. */
async function say(from: TestClient, to: TestClient[], roomId: string, text: string): Promise<void> {
  const arrivals = to.map((c) => next(c, "message", textIn(roomId, text)));
  await from.client.send(roomId, text);
  for (const m of await Promise.all(arrivals)) {
    assert.equal(m.from.userId, from.id);
    assert.equal(m.from.username, from.username);
    assert.equal(m.from.deviceId, from.client.deviceId);
  }
}

/** A room of `owner` that every other client was invited to and joined. */
async function roomWith(owner: TestClient, others: TestClient[], name = "team"): Promise<string> {
  const room = await owner.client.createRoom(name, { isPublic: false });
  for (const c of others) {
    await owner.client.invite(room.id, c.id);
    await c.client.join(room.id);
  }
  return room.id;
}

/**
 * The epoch every client reaches for the room. Commits reach the other members asynchronously,
 * so this waits (bounded) until all of them hold the same one.
 */
async function sameEpoch(clients: TestClient[], roomId: string, ms = 10_000): Promise<number> {
  const end = Date.now() + ms;
  for (;;) {
    const epochs = await Promise.all(clients.map((c) => c.client.epoch(roomId)));
    if (epochs.every((e) => e !== undefined && e === epochs[0])) return epochs[0]!;
    if (Date.now() > end) assert.fail(`epochs differ: ${epochs.join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until `check` holds (bounded), for states that change in the background. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

/**
 * The server answers the client's next `type` frame, but the answer dies with the connection;
 * `stayOffline` keeps the network down until the test lifts `tap.offline`.
 */
function loseNextAnswer(c: TestClient, type: ServerFrame["type"], stayOffline = false): void {
  c.tap.hide = (f) => {
    if (f.type !== type || !("rid" in f) || f.rid === undefined) return false;
    c.tap.hide = undefined;
    c.tap.offline = stayOffline;
    c.tap.current?.terminate();
    return true;
  };
}

async function closeAll(clients: (TestClient | undefined)[]): Promise<void> {
  await Promise.all(clients.map((c) => c?.client.close()));
}

const noErrors = (c: TestClient) =>
  assert.deepEqual(
    c.errors.map((e) => `${e.code}: ${e.error.message}`),
    [],
    `${c.username} reported errors`,
  );

// ------------------------------------------------------------------ tests

test("three users in a room exchange messages that only they can read: the plaintext is in no file of the data dir and no log line", async () => {
  const canary = `CANARY-${randomBytes(12).toString("hex")}`;
  const dataDir = await mkdtemp(join(tmpdir(), "parley-e2ee-"));
  const ts = await startTestServer({ logLevel: "trace" }, { dataDir });
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  let carol: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    carol = await signUp(ts, "carol");
    const roomId = await roomWith(alice, [bob, carol]);
    assert.equal(await sameEpoch([alice, bob, carol], roomId), 3, "create (1), add bob (2), add carol (3)");

    await say(alice, [bob, carol], roomId, `from alice ${canary}`);
    await say(bob, [alice, carol], roomId, `from bob ${canary}`);
    await say(carol, [alice, bob], roomId, `from carol ${canary}`);
    // A structured payload travels the same way.
    const data = { kind: "reaction", emoji: "👍", note: canary };
    const got = next(bob, "message", (m) => m.roomId === roomId && m.text === undefined);
    await alice.client.send(roomId, { data });
    assert.deepEqual((await got).content, { data });
    // Relayed payloads are MLS ciphertext: no frame any client received carries the canary.
    for (const c of [alice, bob, carol]) {
      assert.ok(!JSON.stringify(c.tap.received).includes(canary), `${c.username}'s frames are ciphertext`);
    }
    for (const c of [alice, bob, carol]) noErrors(c);
  } finally {
    await closeAll([alice, bob, carol]);
    await ts.stop();
  }
  try {
    const needles = [canary, Buffer.from(canary).toString("base64"), Buffer.from(canary).toString("hex")];
    const hits: string[] = [];
    for (const file of await filesUnder(dataDir)) {
      const content = await readFile(file);
      for (const n of needles) if (content.includes(n)) hits.push(`${file} contains ${n}`);
    }
    const logText = ts.logs.join("");
    assert.ok(logText.length > 0, "the server logged something to search");
    for (const n of needles) if (logText.includes(n)) hits.push(`logs contain ${n}`);
    assert.deepEqual(hits, []);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test("a direct conversation is a two-member group both sides read", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    const pushed = next(bob, "room");
    const joined = next(bob, "membership", (m) => m.source === "self" && m.event === "joined");
    const dm = await alice.client.openDirect(bob.id);
    assert.equal(dm.kind, "direct");
    assert.equal((await pushed).id, dm.id);
    await joined;
    const typing = next(bob, "typing", (t) => t.roomId === dm.id && t.userId === alice!.id);
    alice.client.typing(dm.id, true);
    assert.equal((await typing).active, true);
    await say(alice, [bob], dm.id, "psst");
    await say(bob, [alice], dm.id, "hi back");
    // Opening it again, from either side, reuses the same conversation and group.
    assert.equal((await bob.client.openDirect(alice.id)).id, dm.id);
    assert.equal(await sameEpoch([alice, bob], dm.id), 1);
    noErrors(alice);
    noErrors(bob);
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
  }
});

test("a removed member cannot decrypt anything sent after the removal", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  let carol: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    carol = await signUp(ts, "carol");
    const roomId = await roomWith(alice, [bob, carol]);
    await say(alice, [bob, carol], roomId, "before");
    // Carol's group state as it was in her last epoch: what a removed device still holds.
    const saved = carol.store.raw(`group/${roomId}`)?.slice();
    assert.ok(saved, "carol's device stores the group state");

    const removedEvent = next(carol, "membership", (m) => m.source === "room" && m.event === "removed");
    await alice.client.remove(roomId, carol.id);
    await removedEvent;
    await eventually(async () => (await carol!.client.epoch(roomId)) === undefined, "carol drops the group");
    const epoch = await sameEpoch([alice, bob], roomId);
    assert.equal(epoch, 4);

    const carolMessages: MessageEvent[] = [];
    carol.client.on("message", (m) => carolMessages.push(m));
    await say(alice, [bob], roomId, "after");
    const frame = bob.tap.received.find(
      (f): f is ServerFrameOf<"message"> => f.type === "message" && f.room === roomId,
    );
    const last = bob.tap.received.filter((f) => f.type === "message").at(-1) as ServerFrameOf<"message">;
    assert.ok(frame && last);
    // The server does not relay it to her (RELAY-1); handed to her device by hand, it is unreadable.
    assert.equal(
      carol.tap.count((f) => f.type === "message" && f.id === last.id),
      0,
    );
    const refused = next(carol, "error", (e) => e.messageId === last.id);
    carol.tap.inject(last);
    assert.equal((await refused).code, "no_group");
    // Even with the saved copy of her old state, the new epoch's keys are out of reach.
    const old = importGroupState(saved);
    await assert.rejects(processMessage(old, Buffer.from(last.payload, "base64")), (e) =>
      isParleyCryptoError(e, "epoch_unavailable"),
    );
    assert.deepEqual(carolMessages, []);
    noErrors(alice);
    noErrors(bob);
  } finally {
    await closeAll([alice, bob, carol]);
    await ts.stop();
  }
});

test("two members commit at the same time: exactly one wins the epoch, both converge and keep talking", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    const roomId = await roomWith(alice, [bob]);
    const start = await sameEpoch([alice, bob], roomId);

    // Hold both Commits until both are made on the same epoch, then release them together.
    const held: (() => void)[] = [];
    const gate = (release: () => void) => {
      held.push(release);
      if (held.length < 2) return;
      alice!.tap.holdCommits = undefined;
      bob!.tap.holdCommits = undefined;
      for (const r of held.splice(0)) r();
    };
    alice.tap.holdCommits = gate;
    bob.tap.holdCommits = gate;
    const commitsBefore = alice.tap.sent.length + bob.tap.sent.length;
    await Promise.all([alice.client.updateKeys(roomId), bob.client.updateKeys(roomId)]);

    const all = [...alice.tap.received, ...bob.tap.received];
    const accepted = all.filter(
      (f): f is ServerFrameOf<"mls.accepted"> => f.type === "mls.accepted" && f.roomId === roomId,
    );
    const stale = all.filter((f) => f.type === "error" && f.code === "stale_epoch");
    const sentCommits = [...alice.tap.sent, ...bob.tap.sent].slice(0).filter((f) => f.type === "mls.commit");
    assert.ok(sentCommits.length >= 3 && commitsBefore > 0);
    // One Commit won epoch `start`; the other got stale_epoch, was rebuilt on top, and won the next.
    assert.equal(stale.length, 1);
    assert.deepEqual(
      accepted
        .map((a) => a.epoch)
        .slice(-2)
        .sort(),
      [start + 1, start + 2],
    );
    assert.equal(await sameEpoch([alice, bob], roomId), start + 2);
    await say(alice, [bob], roomId, "still here?");
    await say(bob, [alice], roomId, "yes");
    noErrors(alice);
    noErrors(bob);
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
  }
});

test("a member offline during two commits and a server restart catches up from the durable queue and reads new messages", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-e2ee-"));
  let ts = await startTestServer({}, { dataDir });
  const port = Number(new URL(ts.url).port);
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  let carol: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    carol = await signUp(ts, "carol");
    const roomId = await roomWith(alice, [bob, carol]);
    const start = await sameEpoch([alice, bob, carol], roomId);

    // Carol's network goes away; her client keeps trying to reconnect.
    carol.tap.offline = true;
    const carolDown = next(carol, "status", (s: ConnectionStatus) => s.state === "reconnecting");
    carol.tap.current?.terminate();
    await carolDown;

    await alice.client.updateKeys(roomId);
    // The server restarts on the same port and data dir; alice and bob reconnect by themselves.
    const reconnected = [alice, bob].map((c) => next(c, "status", (s) => s.state === "connected", 30_000));
    await ts.stop();
    ts = await startTestServer({ port }, { dataDir });
    await Promise.all(reconnected);
    await bob.client.updateKeys(roomId);
    assert.equal(await sameEpoch([alice, bob], roomId), start + 2);
    assert.equal(await carol.client.epoch(roomId), start);

    // Carol comes back: the two Commits wait for her in the queue, in order.
    const handshakesBefore = carol.tap.count((f) => f.type === "mls.handshake");
    carol.tap.offline = false;
    await next(carol, "status", (s) => s.state === "connected", 30_000);
    await eventually(async () => (await carol!.client.epoch(roomId)) === start + 2, "carol catches up");
    const replayed = carol.tap.received
      .filter((f): f is ServerFrameOf<"mls.handshake"> => f.type === "mls.handshake")
      .slice(handshakesBefore);
    assert.deepEqual(
      replayed.map((f) => [f.kind, f.epoch]),
      [
        ["commit", start],
        ["commit", start + 1],
      ],
    );
    await say(alice, [bob, carol], roomId, "welcome back");
    await say(carol, [alice, bob], roomId, "thanks");
    // She acknowledged them: a fresh connection gets nothing again.
    await eventually(
      async () => carol!.tap.sent.some((f) => f.type === "mls.ack" && f.upTo === replayed.at(-1)?.seq),
      "ack sent",
    );
    for (const c of [alice, bob, carol]) noErrors(c);
  } finally {
    await closeAll([alice, bob, carol]);
    await ts.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test("replayed and tampered ciphertexts are refused with the crypto error code, and the client goes on", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    const roomId = await roomWith(alice, [bob]);
    await say(alice, [bob], roomId, "original");
    const original = bob.tap.received.filter((f) => f.type === "message").at(-1) as ServerFrameOf<"message">;

    const replay = next(bob, "error", (e) => e.messageId === "replay-1");
    bob.tap.inject({ ...original, id: "replay-1" });
    assert.equal((await replay).code, "message_replayed");

    // A fresh message, kept from bob's client, arrives altered first: refused, and the real one
    // still reads afterwards.
    bob.tap.hide = (f) => f.type === "message";
    await alice.client.send(roomId, "fresh");
    await eventually(async () => bob!.tap.received.at(-1)?.type === "message", "bob's socket got it");
    bob.tap.hide = undefined;
    const fresh = bob.tap.received.at(-1) as ServerFrameOf<"message">;
    const bytes = Buffer.from(fresh.payload, "base64");
    bytes[bytes.length - 5]! ^= 0x01;
    const tamper = next(bob, "error", (e) => e.messageId === "tamper-1");
    bob.tap.inject({ ...fresh, id: "tamper-1", payload: bytes.toString("base64") });
    assert.equal((await tamper).code, "authentication_failed");
    const real = next(bob, "message", (m) => m.id === fresh.id);
    bob.tap.inject(fresh);
    assert.equal((await real).text, "fresh");

    const garbage = next(bob, "error", (e) => e.messageId === "garbage-1");
    bob.tap.inject({ ...original, id: "garbage-1", payload: "AAAA" });
    assert.equal((await garbage).code, "malformed_message");

    await say(alice, [bob], roomId, "still fine");
    noErrors(alice);
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
  }
});

test("both users see the same safety number; markVerified marks the contact verified", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    const a = await alice.client.safetyNumber(bob.id);
    const b = await bob.client.safetyNumber(alice.id);
    assert.match(a.digits, /^\d{60}$/);
    assert.equal(a.digits, b.digits);
    assert.deepEqual(a.qrPayload, b.qrPayload);
    assert.equal(a.trust, "unverified");
    await alice.client.markVerified(bob.id);
    assert.equal((await alice.client.safetyNumber(bob.id)).trust, "verified");
    assert.deepEqual(alice.identityChanges, []);
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
  }
});

test("a user's second device joins their rooms; a device that lost its group state rejoins", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  let alice2: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    const roomId = await roomWith(alice, [bob]);
    await alice.client.markVerified(alice.id);
    await bob.client.safetyNumber(alice.id); // bob pins alice's first device

    // Alice signs in on a second device and links it from her first: it joins her room by
    // external Commit by itself.
    const second = makeClient(ts);
    await second.client.login(alice.username, STRONG_PASSWORD);
    alice2 = { ...second, id: alice.id, username: alice.username };
    const joined = next(alice2, "membership", (m) => m.source === "self" && m.roomId === roomId);
    await linkBySdk(alice.client, alice2.client);
    assert.equal((await joined).source, "self");
    assert.notEqual(alice2.client.deviceId, alice.client.deviceId);
    const trio = [alice, bob, alice2];
    await sameEpoch(trio, roomId);
    await say(bob, [alice, alice2], roomId, "to both of alice's devices");
    await say(alice2, [alice, bob], roomId, "from the new device");
    // Bob hears of the new device quietly: the same person, the same identity key.
    await eventually(
      async () =>
        bob!.devicesAdded.some((d) => d.userId === alice!.id && d.deviceId === alice2!.client.deviceId),
      "device_added",
    );
    assert.equal(await bob.client.trust(alice.id), "unverified");
    assert.deepEqual(bob.identityChanges, []);

    // Bob's device loses the group state (but keeps its identity) and rejoins, replacing its leaf.
    await bob.client.close();
    await bob.store.delete(`group/${roomId}`);
    const rebooted = makeClient(ts, bob.store);
    assert.equal(await rebooted.client.resume(), true);
    const bob2: TestClient = { ...rebooted, id: bob.id, username: bob.username };
    const rejoined = next(bob2, "membership", (m) => m.source === "self" && m.roomId === roomId);
    await bob2.client.connect();
    await rejoined;
    assert.equal(bob2.client.deviceId, bob.client.deviceId);
    await say(alice, [alice2, bob2], roomId, "bob, are you back?");
    await say(bob2, [alice, alice2], roomId, "yes");
    await bob2.client.close();
    noErrors(alice);
    noErrors(alice2);
    noErrors(bob2);
  } finally {
    await closeAll([alice, bob, alice2]);
    await ts.stop();
  }
});

test("a rejoin pass cut off by a lost connection runs again on the next one, without an error", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    const roomId = await roomWith(alice, [bob]);

    // Bob's device loses its group state; the room list it asks for to rejoin is lost on the way.
    await bob.client.close();
    await bob.store.delete(`group/${roomId}`);
    const rebooted = makeClient(ts, bob.store);
    assert.equal(await rebooted.client.resume(), true);
    bob = { ...rebooted, id: bob.id, username: bob.username };
    loseNextAnswer(bob, "rooms");
    const rejoined = next(bob, "membership", (m) => m.source === "self" && m.roomId === roomId);
    await bob.client.connect();
    await rejoined;
    assert.ok(
      bob.tap.sent.filter((f) => f.type === "room.list").length >= 2,
      "the room list was asked again",
    );
    await say(alice, [bob], roomId, "you are back");
    await say(bob, [alice], roomId, "I am");
    noErrors(alice);
    noErrors(bob);
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
  }
});

test("a member who leaves is removed from the group by the others; invitees who join late catch up", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  let carol: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    carol = await signUp(ts, "carol");
    const room = await alice.client.createRoom("late", { isPublic: false });
    // Both are added to the group (Welcome) before either has joined the room.
    await alice.client.invite(room.id, bob.id);
    await alice.client.invite(room.id, carol.id);
    await bob.client.join(room.id);
    await carol.client.join(room.id);
    const trio = [alice, bob, carol];
    await sameEpoch(trio, room.id);
    await say(alice, [bob, carol], room.id, "all here?");
    await say(carol, [alice, bob], room.id, "yes");

    const carolDevice = carol.client.deviceId;
    const removal = [alice, bob].map((c) =>
      next(c, "membership", (m) => m.source === "group" && m.removed.some((d) => d.deviceId === carolDevice)),
    );
    await carol.client.leave(room.id);
    await Promise.race(removal);
    assert.equal(await carol.client.epoch(room.id), undefined);
    const pair = [alice, bob];
    await eventually(
      async () => (await sameEpoch(pair, room.id).catch(() => 0)) > 0,
      "alice and bob converge",
    );
    await say(bob, [alice], room.id, "carol is gone");
    for (const c of trio) noErrors(c);
  } finally {
    await closeAll([alice, bob, carol]);
    await ts.stop();
  }
});

test("the device uploads new KeyPackages when the server says its supply is low", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    const register = alice.tap.sent.find((f) => f.type === "device.register") as
      | { keyPackages: string[] }
      | undefined;
    assert.equal(register?.keyPackages.length, 50);
    alice.tap.inject({ type: "keypackages.count", remaining: 3, low: true });
    await eventually(
      async () =>
        alice!.tap.received.some(
          (f) => f.type === "keypackages.count" && f.rid !== undefined && f.remaining >= 100 && !f.low,
        ),
      "a second batch is uploaded and counted",
    );
    const upload = alice.tap.sent.find((f) => f.type === "keypackages.upload") as unknown as {
      keyPackages: string[];
    };
    assert.equal(upload.keyPackages.length, 50);

    // The next upload's answer dies with the connection: a fresh batch goes up once it is back.
    const uploads = () => alice!.tap.sent.filter((f) => f.type === "keypackages.upload").length;
    const counted = () =>
      alice!.tap.received.filter((f) => f.type === "keypackages.count" && f.rid !== undefined).length;
    const countedBefore = counted();
    loseNextAnswer(alice, "keypackages.count");
    alice.tap.inject({ type: "keypackages.count", remaining: 3, low: true });
    await eventually(
      async () => uploads() === 3 && counted() === countedBefore + 2,
      "the upload is made again",
    );

    // The device now holds the 200 packages the server keeps: one more batch is refused, and
    // the SDK takes that as "nothing missing", not as an error.
    alice.tap.inject({ type: "keypackages.count", remaining: 3, low: true });
    await eventually(
      async () => alice!.tap.received.some((f) => f.type === "error" && f.code === "key_packages_full"),
      "the server refuses a fifth batch",
    );
    assert.equal(uploads(), 4);
    noErrors(alice);
  } finally {
    await closeAll([alice]);
    await ts.stop();
  }
});

test("a presence.batch frame is one presence event per user it names, in order", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    const events: { userId: string; online: boolean }[] = [];
    alice.client.on("presence", (p) => events.push({ userId: p.userId, online: p.online }));
    alice.tap.inject({
      type: "presence.batch",
      users: [
        { userId: "u1", username: "one", online: true },
        { userId: "u2", username: "two", online: false },
      ],
    });
    assert.deepEqual(events, [
      { userId: "u1", online: true },
      { userId: "u2", online: false },
    ]);
    noErrors(alice);
  } finally {
    await closeAll([alice]);
    await ts.stop();
  }
});

test("a member who updates their keys heals: a copy of their old state cannot follow the group", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    const roomId = await roomWith(alice, [bob]);
    // An attacker copies bob's device state.
    const stolen = bob.store.raw(`group/${roomId}`)?.slice();
    assert.ok(stolen);
    await bob.client.updateKeys(roomId);
    const commit = bob.tap.sent.filter((f) => f.type === "mls.commit").at(-1) as
      | { commit: string }
      | undefined;
    assert.ok(commit);
    await say(alice, [bob], roomId, "after the update");
    const message = bob.tap.received.filter((f) => f.type === "message").at(-1) as ServerFrameOf<"message">;
    const old = importGroupState(stolen);
    // The copy cannot apply the Commit: its new path secrets come from a leaf secret only bob's
    // live device ever had ...
    await assert.rejects(processMessage(old, Buffer.from(commit.commit, "base64")), (e) =>
      isParleyCryptoError(e, "own_commit"),
    );
    // ... so the new epoch's messages stay out of the copy's reach.
    await assert.rejects(processMessage(old, Buffer.from(message.payload, "base64")), (e) =>
      isParleyCryptoError(e, "epoch_unavailable"),
    );
    noErrors(alice);
    noErrors(bob);
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
  }
});

test("a device updates its keys by itself after so many messages: a copy of its old state is left behind", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    // random 0: no jitter and no delay, so the third message is the one that triggers it.
    alice = await signUp(ts, "alice", { keyRotation: { afterMessages: 3 }, random: () => 0 });
    bob = await signUp(ts, "bob");
    const roomId = await roomWith(alice, [bob]);
    const start = await sameEpoch([alice, bob], roomId);
    const stolen = alice.store.raw(`group/${roomId}`)?.slice();
    assert.ok(stolen);
    const commits = () => alice!.tap.sent.filter((f) => f.type === "mls.commit").length;
    const commitsBefore = commits();
    await say(alice, [bob], roomId, "one");
    await say(alice, [bob], roomId, "two");
    await say(bob, [alice], roomId, "bob's do not count");
    assert.equal(commits(), commitsBefore, "two of three: no update yet");
    await say(alice, [bob], roomId, "three");
    await eventually(async () => commits() === commitsBefore + 1, "alice's automatic update");
    // The Commit is on its way: wait until both members have applied it.
    await eventually(
      async () =>
        (await alice!.client.epoch(roomId)) === start + 1 && (await bob!.client.epoch(roomId)) === start + 1,
      "both at the next epoch",
    );
    assert.equal(commits(), commitsBefore + 1, "one update, not more");
    const commit = alice.tap.sent.filter((f) => f.type === "mls.commit").at(-1) as
      | { commit: string }
      | undefined;
    assert.ok(commit);
    await say(bob, [alice], roomId, "after the update");
    const message = alice.tap.received.filter((f) => f.type === "message").at(-1) as ServerFrameOf<"message">;
    const old = importGroupState(stolen);
    await assert.rejects(processMessage(old, Buffer.from(commit.commit, "base64")), (e) =>
      isParleyCryptoError(e, "own_commit"),
    );
    await assert.rejects(processMessage(old, Buffer.from(message.payload, "base64")), (e) =>
      isParleyCryptoError(e, "epoch_unavailable"),
    );
    noErrors(alice);
    noErrors(bob);
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
  }
});

test("accepting a contact's changed key makes this device update its keys in the rooms it shares with them", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice", { random: () => 0 });
    bob = await signUp(ts, "bob");
    const shared = await roomWith(alice, [bob], "shared");
    const own = (await alice.client.createRoom("alone", { isPublic: false })).id;
    const start = await sameEpoch([alice, bob], shared);
    const alone = await alice.client.epoch(own);
    await alice.client.acceptKeyChange(bob.id);
    await eventually(
      async () => (await alice!.client.epoch(shared)) === start + 1,
      "an update in the shared room",
    );
    assert.equal(await sameEpoch([alice, bob], shared), start + 1);
    assert.equal(await alice.client.epoch(own), alone, "a room without bob is left alone");
    noErrors(alice);
    noErrors(bob);
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
  }
});

test("a server that substitutes a user's key is caught: identity_changed, a refused Commit, and the two safety numbers differ", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-e2ee-"));
  const ts = await startTestServer({}, { dataDir });
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    const bobDevice = bob.client.deviceId!;
    const before = await alice.client.safetyNumber(bob.id); // alice pins bob's key
    assert.equal(before.digits, (await bob.client.safetyNumber(alice.id)).digits);
    const room = await alice.client.createRoom("swap", { isPublic: false });

    // Whoever holds the server's database puts a key of their own on bob's device, with
    // KeyPackages to match: an invite would then add the attacker instead of bob.
    const fake = await generateDeviceIdentity({ userId: bob.id, deviceId: bobDevice });
    const packages = await generateKeyPackages(fake, 2);
    const db = new Database(join(dataDir, "parley.db"));
    try {
      db.prepare("update devices set signature_key = ? where user_id = ? and device_id = ?").run(
        Buffer.from(fake.signaturePublicKey).toString("base64"),
        bob.id,
        bobDevice,
      );
      db.prepare("delete from key_packages where user_id = ?").run(bob.id);
      const insert = db.prepare(
        "insert into key_packages (ref, user_id, device_id, key_package, last_resort, created_at) values (?, ?, ?, ?, 0, ?)",
      );
      for (const p of packages) {
        insert.run(
          Buffer.from(p.ref).toString("hex"),
          bob.id,
          bobDevice,
          Buffer.from(p.keyPackage).toString("base64"),
          Date.now(),
        );
      }
    } finally {
      db.close();
    }

    const changed = next(alice, "identity_changed", (c) => c.userId === bob!.id);
    // The fake KeyPackage's certificate names another identity key than the one alice pinned:
    // the alarm. The delivery service refuses the Commit that would add its leaf, since the key
    // is not the one bound to bob's account.
    await assert.rejects(alice.client.invite(room.id, bob.id), (e) =>
      isParleyClientError(e, "commit_invalid"),
    );
    const change = await changed;
    assert.equal(change.deviceId, bobDevice);
    assert.deepEqual(change.identityKey, fake.certificate.identityKey);
    assert.equal(change.wasVerified, false);
    assert.equal(await alice.client.trust(bob.id), "changed_unverified");

    const seenByAlice = await alice.client.safetyNumber(bob.id);
    const seenByBob = await bob.client.safetyNumber(alice.id);
    assert.notEqual(seenByAlice.digits, seenByBob.digits, "comparing the numbers exposes the swap");
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test("a Commit whose answer is lost with the connection is settled once the device is back", async () => {
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  let bob: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    bob = await signUp(ts, "bob");
    const roomId = await roomWith(alice, [bob]);
    const start = await sameEpoch([alice, bob], roomId);
    const commitsSent = () => alice!.tap.sent.filter((f) => f.type === "mls.commit").length;

    // Nothing else happens meanwhile: the server's GroupInfo is alice's, so her Commit won.
    let before = commitsSent();
    loseNextAnswer(alice, "mls.accepted");
    await alice.client.updateKeys(roomId);
    assert.equal(commitsSent() - before, 1, "settled without a second Commit");
    assert.equal(await sameEpoch([alice, bob], roomId), start + 1);

    // Bob commits on top before alice is back: her queue jumps from her epoch to the next.
    before = commitsSent();
    loseNextAnswer(alice, "mls.accepted", true);
    const aliceUpdate = alice.client.updateKeys(roomId);
    await eventually(
      async () => (await bob!.client.epoch(roomId)) === start + 2,
      "bob applies alice's Commit",
    );
    await bob.client.updateKeys(roomId);
    alice.tap.offline = false;
    await aliceUpdate;
    assert.equal(commitsSent() - before, 1, "settled from the queue without a second Commit");
    assert.equal(await sameEpoch([alice, bob], roomId), start + 3);
    await say(alice, [bob], roomId, "nothing lost");
    await say(bob, [alice], roomId, "nothing lost here either");
    noErrors(alice);
    noErrors(bob);
  } finally {
    await closeAll([alice, bob]);
    await ts.stop();
  }
});

test("a person in many rooms reconnects without spending the frame budget on sync notices", async () => {
  // The server's default frame limits (LIMIT-2: a burst of 20, 10 a second).
  const ts = await startTestServer();
  let alice: TestClient | undefined;
  try {
    alice = await signUp(ts, "alice");
    const rooms: string[] = [];
    for (let i = 0; i < 30; i++) rooms.push(canonicalRoomId((await alice.client.createRoom(`r${i}`)).id));
    const c = alice;
    await eventually(
      async () => (await Promise.all(rooms.map((r) => c.client.epoch(r)))).every((e) => e !== undefined),
      "30 groups",
    );
    // Let the bucket fill again after the set-up, then lose the connection.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const sentBefore = c.tap.sent.length;
    const receivedBefore = c.tap.received.length;
    const back = next(c, "status", (s) => s.state === "connected", 30_000);
    c.tap.current?.terminate();
    await back;
    // One sync notice per room (RCPT-4), each a message.send.
    await eventually(
      async () =>
        c.tap.sent.slice(sentBefore).filter((f) => f.type === "message.send").length >= rooms.length,
      "a notice to every room",
      60_000,
    );
    const limited = c.tap.received
      .slice(receivedBefore)
      .filter((f) => f.type === "error" && (f as { code?: string }).code === "rate_limited");
    assert.equal(limited.length, 0, "no frame was refused for the rate");
    noErrors(c);
  } finally {
    await closeAll([alice]);
    await ts.stop();
  }
});
