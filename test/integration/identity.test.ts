import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type IdentityChange,
  isParleyClientError,
  MemoryStore,
  ParleyClient,
  safetyNumberRows,
} from "@parley/client";
import {
  decodeCertificate,
  encodeCertificate,
  generateIdentityKey,
  signDeviceCertificate,
} from "@parley/crypto";
import Database from "better-sqlite3";
import { pinnedWebSocket } from "../../packages/cli/src/chat/websocket.js";
import { trustedFetch } from "../../packages/cli/src/https-fetch.js";
import { MemoryBus } from "../../packages/server/src/bus/memory-bus.js";
import { asUserId } from "../../packages/server/src/domain/ids.js";
import { STRONG_PASSWORD, startTestServer, type TestServer, uniqueName } from "./support/harness.js";
import { linkBySdk, nextEvent, type SdkUser, sdkClient, sdkSignUp } from "./support/sdk.js";

// Issue 14: one identity per person across devices. Real server, SDK clients.

/** Polls until `check` holds (bounded), for states that change in the background. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

function watch(client: ParleyClient) {
  const changes: IdentityChange[] = [];
  const added: { userId: string; deviceId: string }[] = [];
  client.on("identity_changed", (c) => changes.push(c));
  client.on("device_added", (d) => added.push(d));
  return { changes, added };
}

describe("one identity per person", () => {
  let ts: TestServer;
  const open: ParleyClient[] = [];
  const user = async (prefix: string): Promise<SdkUser> => {
    const u = await sdkSignUp(ts, prefix);
    open.push(u.client);
    return u;
  };
  const signIn = async (u: SdkUser): Promise<ParleyClient> => {
    const c = sdkClient(ts);
    open.push(c);
    await c.login(u.username, STRONG_PASSWORD);
    return c;
  };

  before(async () => {
    ts = await startTestServer();
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    await ts.stop();
  });

  it("links a second device by code without alarming anyone; it joins every group and the safety number stays", async () => {
    const bob = await user("bob");
    const alice = await user("alice");
    const aliceSees = watch(alice.client);
    const room = await bob.client.createRoom("team", { isPublic: false });
    await bob.client.invite(room.id, alice.id);
    await alice.client.join(room.id);
    const direct = await bob.client.openDirect(alice.id);
    const number = await alice.client.safetyNumber(bob.id);
    assert.equal(number.digits, (await bob.client.safetyNumber(alice.id)).digits);
    assert.equal(safetyNumberRows(number.groups).length, 3);
    await alice.client.markVerified(bob.id);

    // A new sign-in does not make a new identity silently.
    const phone = await signIn(bob);
    assert.equal(await phone.identityStatus(), "link_required");
    await assert.rejects(phone.connect(), (e) => isParleyClientError(e, "identity_link_required"));

    const joined = nextEvent(phone, "membership", (m) => m.source === "self" && m.roomId === room.id);
    const sas = await linkBySdk(bob.client, phone);
    assert.match(sas.newSide, /^\d{6}$/);
    assert.equal(sas.newSide, sas.existingSide, "both screens show the same code");
    await joined;
    await eventually(
      async () => (await phone.epoch(direct.id)) !== undefined,
      "the phone joins the direct conversation",
    );

    // Alice hears of the device quietly and stays verified; the number is the same.
    const said = nextEvent(alice.client, "message", (m) => m.text === "from my phone");
    await phone.send(room.id, "from my phone");
    assert.equal((await said).from.deviceId, phone.deviceId);
    await eventually(async () => aliceSees.added.some((d) => d.deviceId === phone.deviceId), "device_added");
    assert.deepEqual(aliceSees.changes, []);
    assert.equal(await alice.client.trust(bob.id), "verified");
    assert.equal((await alice.client.safetyNumber(bob.id)).digits, number.digits);
    assert.equal((await phone.safetyNumber(alice.id)).digits, number.digits);
    assert.equal(await phone.trust(alice.id), "unverified");
    const devices = await alice.client.devices(bob.id);
    assert.deepEqual(devices.map((d) => d.deviceId).sort(), [bob.client.deviceId, phone.deviceId].sort());

    // A newcomer meets bob with two devices: first sight, never "changed".
    const dave = await user("dave");
    const daveSees = watch(dave.client);
    await bob.client.invite(room.id, dave.id);
    await dave.client.join(room.id);
    const heard = nextEvent(dave.client, "message", (m) => m.text === "welcome dave");
    await phone.send(room.id, "welcome dave");
    assert.equal((await heard).trust, "unverified");
    assert.deepEqual(daveSees.changes, []);
    assert.equal(await dave.client.trust(bob.id), "unverified");
  });

  it("refuses a wrong or malformed code cleanly, and another account's device", async () => {
    const erin = await user("erin");
    const frank = await user("frank");
    const tablet = await signIn(erin);
    const pending = await tablet.startLink();
    await assert.rejects(erin.client.linkDevice("ZZZZZ-ZZZZZ"), (e) =>
      isParleyClientError(e, "link_not_found"),
    );
    await assert.rejects(erin.client.linkDevice("not a code"), (e) => isParleyClientError(e, "link_invalid"));
    await assert.rejects(frank.client.linkDevice(pending.code), (e) =>
      isParleyClientError(e, "link_not_found"),
    );
    // A QR payload whose key the server contradicts is refused before anything is sent.
    const forged = pending.qrPayload.replace(/:[^:]+$/, `:${"A".repeat(43)}`);
    await assert.rejects(erin.client.linkDevice(forged), (e) => isParleyClientError(e, "link_mismatch"));
    // The new device hears of the cancel: its link ends without an identity.
    await assert.rejects(pending.done, (e) => isParleyClientError(e, "link_cancelled"));
    assert.equal(tablet.deviceId, undefined);
  });

  it("an identity reset alarms exactly the people who knew the old key", async () => {
    const gina = await user("gina");
    const verifier = await user("verifier");
    const acquaintance = await user("acquaintance");
    const stranger = await user("stranger");
    await verifier.client.safetyNumber(gina.id);
    await verifier.client.markVerified(gina.id);
    await acquaintance.client.devices(gina.id); // pins gina's key on first sight
    const sees = {
      verifier: watch(verifier.client),
      acquaintance: watch(acquaintance.client),
      stranger: watch(stranger.client),
    };

    const laptop = await signIn(gina);
    await assert.rejects(laptop.resetIdentity("wrong password"), (e) =>
      isParleyClientError(e, "invalid_credentials"),
    );
    await laptop.resetIdentity(STRONG_PASSWORD);
    assert.ok(laptop.deviceId !== undefined);

    await verifier.client.devices(gina.id);
    await acquaintance.client.devices(gina.id);
    await stranger.client.devices(gina.id);
    assert.equal(sees.verifier.changes[0]?.wasVerified, true);
    assert.equal(await verifier.client.trust(gina.id), "changed");
    assert.equal(sees.acquaintance.changes[0]?.wasVerified, false);
    assert.equal(await acquaintance.client.trust(gina.id), "changed_unverified");
    assert.deepEqual(sees.stranger.changes, []);
    assert.equal(await stranger.client.trust(gina.id), "unverified");
    // Only the new device is listed: the old one's certificate named the old key.
    assert.deepEqual(
      (await stranger.client.devices(gina.id)).map((d) => d.deviceId),
      [laptop.deviceId],
    );
    await verifier.client.acceptKeyChange(gina.id);
    assert.equal(await verifier.client.trust(gina.id), "unverified");
  });

  it("a room, a public room joined, or a direct conversation started on one device is on the person's other devices at once", async () => {
    const bob = await user("bob");
    const alice = await user("alice");
    const phone = await signIn(bob);
    await linkBySdk(bob.client, phone);
    // Started on the laptop after the phone was linked; the phone stays connected throughout.
    const team = await bob.client.createRoom("later", { isPublic: false });
    await bob.client.invite(team.id, alice.id);
    await alice.client.join(team.id);
    const open = await alice.client.createRoom("open", { isPublic: true });
    await bob.client.join(open.id);
    const direct = await bob.client.openDirect(alice.id);
    for (const [room, text] of [
      [team.id, "to the new room"],
      [open.id, "to the public room"],
      [direct.id, "to the direct conversation"],
    ] as const) {
      const onPhone = nextEvent(phone, "message", (m) => m.text === text);
      await alice.client.send(room, text);
      const got = await onPhone;
      assert.equal(got.from.userId, alice.id);
    }
  });
});

describe("a server that lies about identities", () => {
  it("is caught: a forged certificate raises the alarm, a broken one is not believed", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "parley-identity-"));
    const ts = await startTestServer({}, { dataDir });
    const clients: ParleyClient[] = [];
    try {
      const bob = await sdkSignUp(ts, "bob");
      const alice = await sdkSignUp(ts, "alice");
      clients.push(bob.client, alice.client);
      const aliceSees = watch(alice.client);
      const honest = await alice.client.devices(bob.id); // pins bob's identity key
      assert.equal(honest.length, 1);
      const number = await alice.client.safetyNumber(bob.id);

      const db = new Database(join(dataDir, "parley.db"));
      const row = () =>
        db.prepare("select signature_key, certificate from devices where user_id = ?").get(bob.id) as {
          signature_key: string;
          certificate: string;
        };
      const real = row();
      const setCertificate = (c: string) =>
        db.prepare("update devices set certificate = ? where user_id = ?").run(c, bob.id);
      try {
        // A broken signature: the device is left out, nothing is pinned from it.
        const bytes = Buffer.from(real.certificate, "base64");
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
        setCertificate(bytes.toString("base64"));
        assert.deepEqual(await alice.client.devices(bob.id), []);
        assert.equal(aliceSees.changes.length, 0);

        // A certificate the server made with a key of its own for bob's device, and that key
        // as bob's identity: the alarm, and the safety numbers then differ.
        const serverKey = generateIdentityKey();
        const cert = decodeCertificate(Buffer.from(real.certificate, "base64"));
        const forged = signDeviceCertificate(
          serverKey,
          cert,
          Buffer.from(real.signature_key, "base64"),
          cert.createdAt,
        );
        setCertificate(Buffer.from(encodeCertificate(forged)).toString("base64"));
        db.prepare("update identity_keys set identity_key = ? where user_id = ?").run(
          Buffer.from(serverKey.publicKey).toString("base64"),
          bob.id,
        );
        await alice.client.devices(bob.id);
        assert.equal(aliceSees.changes.length, 1);
        assert.deepEqual(aliceSees.changes[0]?.identityKey, serverKey.publicKey);
        assert.equal(await alice.client.trust(bob.id), "changed_unverified");
        assert.notEqual((await alice.client.safetyNumber(bob.id)).digits, number.digits);
        assert.equal(
          (await bob.client.safetyNumber(alice.id)).digits,
          number.digits,
          "bob's side is unmoved",
        );
      } finally {
        db.close();
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await ts.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("a server that pushes false identity.reset hints (IDENT-4)", () => {
  it("costs one look-up per person in a burst, none for strangers or oneself, and no alarm", async () => {
    // The test holds the server's bus, so it can push whatever frames a lying server would.
    const bus = new MemoryBus();
    const ts = await startTestServer({}, { bus });
    const clients: ParleyClient[] = [];
    try {
      const bob = await sdkSignUp(ts, "bob");
      clients.push(bob.client);
      // alice's socket records what her client sends.
      const sent: { type?: unknown; userId?: unknown }[] = [];
      const Pinned = pinnedWebSocket(ts.ca);
      class Recording extends Pinned {
        override send(data: string): void {
          sent.push(JSON.parse(data) as { type?: unknown; userId?: unknown });
          super.send(data);
        }
      }
      const alice = new ParleyClient({
        baseUrl: ts.url,
        fetch: trustedFetch({ ca: ts.ca }),
        WebSocket: Recording,
        store: new MemoryStore(),
        backoff: { baseMs: 100, maxMs: 1000 },
      });
      clients.push(alice);
      const aliceId = (await alice.register(uniqueName("alice"), STRONG_PASSWORD)).id;
      await alice.connect();
      const aliceSees = watch(alice);
      const errors: string[] = [];
      alice.on("error", (e) => errors.push(e.code));
      await alice.devices(bob.id); // pins bob's identity key
      const lookUps = (userId: string) =>
        sent.filter((f) => f.type === "devices.list" && f.userId === userId).length;
      assert.equal(lookUps(bob.id), 1);

      const push = (frame: unknown) => bus.deliver([asUserId(aliceId)], Buffer.from(JSON.stringify(frame)));
      push({ type: "identity.reset" });
      push({ type: "identity.reset", userId: 7 });
      push({ type: "identity.reset", userId: "" });
      push({ type: "identity.reset", userId: "nobody-at-all" });
      push({ type: "identity.reset", userId: aliceId });
      for (let i = 0; i < 50; i++) push({ type: "identity.reset", userId: bob.id });
      await eventually(async () => lookUps(bob.id) === 2, "alice looks bob up once more");
      // Past the spacing, a burst's hints would all have been acted on.
      await new Promise((r) => setTimeout(r, 6_000));
      assert.equal(lookUps(bob.id), 2, "fifty hints, one look-up");
      assert.equal(lookUps("nobody-at-all"), 0, "a stranger is not looked up");
      assert.equal(lookUps(aliceId), 0, "nor is alice herself");
      assert.deepEqual(aliceSees.changes, [], "bob's key did not change: no alarm");
      assert.deepEqual(errors, ["unexpected_answer", "unexpected_answer", "unexpected_answer"]);
      assert.equal(alice.status.state, "connected", "and alice's client goes on");
      assert.equal((await alice.devices(bob.id)).length, 1);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await ts.stop();
    }
  });
});
