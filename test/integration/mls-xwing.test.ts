/**
 * Post-quantum groups (issue 21, docs/PROTOCOL.md MLS-9): a server run with
 * PARLEY_MLS_SUITE=xwing, real SDK clients in this process, every step of a group's life in the
 * X-Wing suite; suites that do not mix are refused with `mls_suite_mismatch`; and a server that
 * moves from X25519 to X-Wing keeps its old groups working while new ones are post-quantum.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type MessageEvent, type ParleyClient, ParleyClientError } from "@parley/client";
import {
  createGroup,
  exportGroupInfo,
  generateDeviceIdentity,
  generateKeyPackages,
  generateLastResortKeyPackage,
  selfUpdate,
} from "@parley/crypto";
import { PROTOCOL_VERSION, type ServerFrame } from "@parley/protocol";
import {
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
} from "./support/harness.js";
import { linkBySdk, nextEvent, type SdkUser, sdkClient, sdkSignUp } from "./support/sdk.js";
import { TestSocket } from "./support/ws-client.js";

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const textIn = (roomId: string, text: string) => (m: MessageEvent) => m.roomId === roomId && m.text === text;

/** Sends `text` from one client and waits until every other one has decrypted it. */
async function say(from: SdkUser, to: SdkUser[], roomId: string, text: string): Promise<void> {
  const arrivals = to.map((u) => nextEvent(u.client, "message", textIn(roomId, text)));
  await from.client.send(roomId, text);
  for (const m of await Promise.all(arrivals)) assert.equal(m.from.userId, from.id);
}

async function roomWith(owner: SdkUser, others: SdkUser[], name: string): Promise<string> {
  const room = await owner.client.createRoom(name, { isPublic: false });
  for (const u of others) {
    await owner.client.invite(room.id, u.id);
    await u.client.join(room.id);
  }
  return room.id;
}

/** Polls until `check` holds (bounded), for states that change in the background. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

async function sameEpoch(clients: ParleyClient[], roomId: string): Promise<number> {
  let epoch = -1;
  await eventually(async () => {
    const epochs = await Promise.all(clients.map((c) => c.epoch(roomId)));
    epoch = epochs[0] ?? -1;
    return epochs.every((e) => e !== undefined && e === epochs[0]);
  }, "every member reaches the same epoch");
  return epoch;
}

async function closeAll(users: (SdkUser | ParleyClient | undefined)[]): Promise<void> {
  await Promise.all(users.map((u) => (u && "client" in u ? u.client.close() : u?.close())));
}

test("on an X-Wing server a room's whole life is post-quantum: create, add, talk, update, remove, a second device", async () => {
  const ts = await startTestServer({ mlsSuite: "xwing" });
  const users: (SdkUser | ParleyClient | undefined)[] = [];
  try {
    const info = await request<{ mlsSuite: string }>(ts, "GET", "/api/info");
    assert.equal(info.body.mlsSuite, "xwing");

    const alice = await sdkSignUp(ts, "alice");
    const bob = await sdkSignUp(ts, "bob");
    const carol = await sdkSignUp(ts, "carol");
    users.push(alice, bob, carol);
    assert.equal(alice.client.serverSuite, "xwing");

    const roomId = await roomWith(alice, [bob, carol], "quantum-safe");
    for (const u of [alice, bob, carol]) assert.equal(await u.client.suite(roomId), "xwing");
    await say(alice, [bob, carol], roomId, "hello, post-quantum world");
    await say(bob, [alice, carol], roomId, "bob here");

    // An update: Bob's new X-Wing path keys; everyone follows and keeps talking.
    const before = await sameEpoch([alice.client, bob.client, carol.client], roomId);
    await bob.client.updateKeys(roomId);
    assert.ok((await sameEpoch([alice.client, bob.client, carol.client], roomId)) > before);
    await say(carol, [alice, bob], roomId, "after bob's update");

    // A removal: Carol drops out of the group; the others go on.
    const removed = nextEvent(
      carol.client,
      "membership",
      (m) => m.source === "room" && m.event === "removed",
    );
    await alice.client.remove(roomId, carol.id);
    await removed;
    await eventually(async () => (await carol.client.epoch(roomId)) === undefined, "carol drops the group");
    await say(alice, [bob], roomId, "after carol left");

    // A second device of Alice's joins her rooms by external Commit, in the group's suite.
    const tablet = sdkClient(ts);
    users.push(tablet);
    await tablet.login(alice.username, STRONG_PASSWORD);
    // One identity per person (issue 14): the tablet is linked from Alice's first device.
    await linkBySdk(alice.client, tablet);
    await eventually(
      async () => (await tablet.suite(roomId)) === "xwing",
      "the tablet joins the room's group",
    );
    await sameEpoch([alice.client, bob.client, tablet], roomId);
    const fromTablet = nextEvent(bob.client, "message", textIn(roomId, "from alice's tablet"));
    await tablet.send(roomId, "from alice's tablet");
    assert.equal((await fromTablet).from.deviceId, tablet.deviceId);

    // A direct conversation is a two-member group in the same suite.
    const direct = await bob.client.openDirect(alice.id);
    await eventually(
      async () => (await alice.client.suite(direct.id)) === "xwing",
      "alice joins the direct group",
    );
    assert.equal(await bob.client.suite(direct.id), "xwing");
    await say(bob, [alice], direct.id, "a direct word");
  } finally {
    await closeAll(users);
    await ts.stop();
  }
});

test("suites do not mix: KeyPackages and a group's first Commit of another suite are mls_suite_mismatch", async () => {
  const ts = await startTestServer({ mlsSuite: "xwing", frameRate: 1000, frameBurst: 1000 });
  const sockets: TestSocket[] = [];
  try {
    const session = await registerUser(ts);
    const deviceId = "laptop";
    const identity = await generateDeviceIdentity({ userId: session.user.id, deviceId });
    const socket = await TestSocket.open(ts);
    sockets.push(socket);
    socket.send({ type: "auth", token: session.accessToken, protocolVersion: PROTOCOL_VERSION, deviceId });
    const ready = (await socket.next("ready")) as Extract<ServerFrame, { type: "ready" }>;
    assert.equal(ready.mlsSuite, "xwing");

    // X25519 packages on an X-Wing server: refused, naming the package.
    const classic = await generateKeyPackages(identity, 2);
    const refused = await socket.call({
      type: "device.register",
      deviceId,
      signatureKey: b64(identity.signaturePublicKey),
      keyPackages: classic.map((b) => b64(b.keyPackage)),
      lastResort: b64((await generateLastResortKeyPackage(identity, { suite: "xwing" })).keyPackage),
    });
    assert.equal(refused.type, "error");
    assert.equal((refused as { code: string }).code, "mls_suite_mismatch");
    assert.deepEqual((refused as { details?: string[] }).details, ["/keyPackages/0"]);

    // X-Wing packages are accepted; an X25519 last resort alone is refused too.
    const pq = await generateKeyPackages(identity, 2, { suite: "xwing" });
    const accepted = await socket.call({
      type: "device.register",
      deviceId,
      signatureKey: b64(identity.signaturePublicKey),
      keyPackages: pq.map((b) => b64(b.keyPackage)),
      lastResort: b64((await generateLastResortKeyPackage(identity, { suite: "xwing" })).keyPackage),
    });
    assert.equal(accepted.type, "keypackages.count", JSON.stringify(accepted));
    const lastResort = await socket.call({
      type: "keypackages.upload",
      keyPackages: [],
      lastResort: b64((await generateLastResortKeyPackage(identity)).keyPackage),
    });
    assert.equal((lastResort as { code?: string }).code, "mls_suite_mismatch");

    // A new group in X25519 on an X-Wing server: its first Commit is refused.
    const room = await socket.call({ type: "room.create", name: "mixed", isPublic: false });
    assert.equal(room.type, "room", JSON.stringify(room));
    const roomId = (room as Extract<ServerFrame, { type: "room" }>).room.id;
    const group = await createGroup(identity, { groupId: new TextEncoder().encode(roomId) });
    const first = await selfUpdate(group);
    const commit = await socket.call({
      type: "mls.commit",
      roomId,
      epoch: 0,
      commit: b64(first.commit),
      groupInfo: b64(await exportGroupInfo(first.newState)),
    });
    assert.equal((commit as { code?: string }).code, "mls_suite_mismatch");
    assert.deepEqual((commit as { details?: string[] }).details, ["/groupInfo"]);
  } finally {
    for (const s of sockets) s.close();
    await ts.stop();
  }
});

test("a server moved from X25519 to X-Wing: old rooms keep their suite and keep working, new rooms are post-quantum", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "parley-xwing-"));
  let ts: TestServer | undefined = await startTestServer({}, { dataDir });
  const port = ts.server.port;
  const users: (SdkUser | undefined)[] = [];
  try {
    const alice = await sdkSignUp(ts, "alice");
    const bob = await sdkSignUp(ts, "bob");
    users.push(alice, bob);
    const old = await roomWith(alice, [bob], "before");
    assert.equal(await alice.client.suite(old), "x25519");
    await say(alice, [bob], old, "said in x25519");

    await ts.stop();
    ts = await startTestServer({ mlsSuite: "xwing", port }, { dataDir });
    // Both devices reconnect by themselves and publish X-Wing KeyPackages.
    await eventually(
      async () => alice.client.serverSuite === "xwing" && bob.client.serverSuite === "xwing",
      "both clients see the new suite",
    );

    // The old room: still X25519, still readable both ways, updates still work.
    assert.equal(await bob.client.suite(old), "x25519");
    await say(bob, [alice], old, "still talking in the old room");
    await alice.client.updateKeys(old);
    await say(alice, [bob], old, "after an update in the old room");

    // A new room: X-Wing, with Bob's new packages.
    const fresh = await roomWith(alice, [bob], "after");
    assert.equal(await alice.client.suite(fresh), "xwing");
    assert.equal(await bob.client.suite(fresh), "xwing");
    await say(bob, [alice], fresh, "said in x-wing");

    // Someone who only has X-Wing packages cannot be added to the old X25519 group: a clear error.
    const carol = await sdkSignUp(ts, "carol");
    users.push(carol);
    await assert.rejects(alice.client.invite(old, carol.id), (e: unknown) => {
      assert.ok(e instanceof ParleyClientError, String(e));
      assert.equal(e.code, "suite_mismatch");
      return true;
    });
  } finally {
    await closeAll(users);
    await ts?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
