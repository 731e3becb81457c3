import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import {
  type DeviceIdentity,
  generateDeviceIdentity,
  generateIdentityKey,
  generateKeyPackages,
  generateLastResortKeyPackage,
  type IdentityKeyPair,
} from "@parley/crypto";
import { PROTOCOL_VERSION, type ServerFrame } from "@parley/protocol";
import {
  metricSum,
  registerUser,
  request,
  STRONG_PASSWORD,
  scrapeMetrics,
  startTestServer,
  type TestServer,
} from "./support/harness.js";
import { TestSocket } from "./support/ws-client.js";

// Issue 15: no single account, client or slow socket may degrade the server for everyone.
// Each `describe` is one finding; docs/SECURITY.md cites these tests by name.

type Err = { code: string; message: string; retryAfterMs?: number };

/** Writes raw bytes on a plain TCP connection and resolves with everything the server answered. */
function rawExchange(port: number, bytes: string, opts: { keepOpen?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(bytes);
      if (!opts.keepOpen) socket.end();
    });
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    socket.setTimeout(15_000, () => socket.destroy(new Error("no answer")));
  });
}

function statusAndBody(answer: string): { status: number; body: Err; raw: string } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
  const text = answer.slice(answer.indexOf("\r\n\r\n") + 4);
  let body: Err = { code: "", message: "" };
  try {
    body = JSON.parse(text) as Err;
  } catch {
    // not JSON
  }
  return { status, body, raw: answer };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

interface Device {
  deviceId: string;
  identity: DeviceIdentity;
  socket: TestSocket;
  /** The device.register frame it sent, to send again. */
  register: Record<string, unknown>;
}

/** A device of the account: a socket authenticated for it and its registration frame (not sent). */
async function deviceOf(
  ts: TestServer,
  token: string,
  userId: string,
  packages: number,
  identityKey?: IdentityKeyPair,
): Promise<Device> {
  const deviceId = `dev${Math.floor(Math.random() * 1e9)}`;
  // One identity per person (issue 14): a person's devices are certified by one identity key.
  const identity = await generateDeviceIdentity({ userId: userId, deviceId }, identityKey);
  const socket = await TestSocket.open(ts);
  socket.send({ type: "auth", token, protocolVersion: PROTOCOL_VERSION, deviceId });
  await socket.next("ready");
  const register = {
    type: "device.register",
    deviceId,
    signatureKey: b64(identity.signaturePublicKey),
    keyPackages: (await generateKeyPackages(identity, packages)).map((b) => b64(b.keyPackage)),
    lastResort: b64((await generateLastResortKeyPackage(identity)).keyPackage),
  };
  return { deviceId, identity, socket, register };
}

const verified = async (ts: TestServer) =>
  metricSum(await scrapeMetrics(ts), "parley_key_packages_verified_total");

const levelOf = (line: string): number => (JSON.parse(line) as { level: number }).level;

describe("every error answer comes from the registry and never echoes input (issue 15.7)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ tls: "off" });
  });
  after(() => ts?.stop());

  it("answers a malformed percent-encoding in the path with 404 not_found, not FST_ERR_BAD_URL", async () => {
    const port = ts.server.port;
    for (const path of ["/%", "/api/admin/users/%zz/disable", "/%E0%A4%A"]) {
      const { status, body, raw } = statusAndBody(
        await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
      );
      assert.equal(status, 404, raw);
      assert.equal(body.code, "not_found", raw);
      assert.ok(!raw.includes("FST_"), raw);
      assert.ok(!raw.includes(path), `the path is echoed: ${raw}`);
    }
  });

  it("answers an over-long route parameter with 404 not_found, without echoing the path", async () => {
    const marker = `X${"q".repeat(300)}`;
    for (const path of [`/api/admin/users/${marker}/disable`, `/api/admin/blocks/${marker}`]) {
      const res = await request<Err>(ts, path.includes("blocks") ? "DELETE" : "POST", path);
      assert.equal(res.status, 404, res.text);
      assert.equal(res.body.code, "not_found", res.text);
      assert.ok(!res.text.includes(marker), res.text);
      assert.ok(!res.text.includes("FST_"), res.text);
    }
  });
});

describe("client misbehaviour is logged at most at info, rate limited (issue 15.8)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ tls: "off" });
  });
  after(() => ts?.stop());

  it("logs a request body the client cut off below error level, once for a burst of them", async () => {
    const before = ts.logs.length;
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const socket: Socket = connect(ts.server.port, "127.0.0.1", () => {
          socket.write(
            "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
              'Content-Length: 1000\r\n\r\n{"username":"a',
          );
          // Let the server start reading the body, then go away in the middle of it.
          setImmediate(() => socket.destroy());
        });
        socket.on("close", () => resolve());
        socket.on("error", () => resolve());
      });
    }
    // A request after them is answered: the server is fine, and its log lines are written.
    assert.equal((await request(ts, "GET", "/healthz")).status, 200);
    const lines = ts.logs.slice(before).flatMap((chunk) => chunk.split("\n").filter((l) => l.length > 0));
    const loud = lines.filter((l) => levelOf(l) >= 40);
    assert.deepEqual(loud, [], "warn or error lines for a client's cut-off body");
    const aborted = lines.filter((l) => l.includes("request_aborted"));
    assert.ok(aborted.length <= 1, `${aborted.length} lines for 5 cut-off bodies`);
  });
});

describe("room names and topics refuse control and format characters (issue 15.9)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ tls: "off", frameRate: 1000, frameBurst: 1000 });
  });
  after(() => ts?.stop());

  it("refuses NUL, escape sequences, bidi overrides and invisible-only names with invalid_text", async () => {
    const session = await registerUser(ts);
    const socket = await TestSocket.authed(ts, session.accessToken);
    const bad: [string, Record<string, string>][] = [
      ["NUL in the name", { name: "ops\u0000room" }],
      ["ESC sequence in the name", { name: "\u001b[2Jops" }],
      ["bidi override in the name", { name: "txt.\u202Eexe" }],
      ["isolate in the topic", { name: "ops", topic: "a\u2066b\u2069" }],
      ["only zero-width characters", { name: "\u200B\u200C\u200D\uFEFF" }],
      ["a line break in the topic", { name: "ops", topic: "one\ntwo" }],
    ];
    for (const [what, fields] of bad) {
      const answer = await socket.call({ type: "room.create", ...fields });
      assert.equal(answer.type, "error", what);
      assert.equal((answer as Err).code, "invalid_text", what);
    }
    // Ordinary text, accents, scripts and emoji (a ZWJ sequence included) are fine.
    for (const name of ["Ops – night shift", "Équipe", "会议室", "família 👨‍👩‍👧", "שלום"]) {
      const answer = await socket.call({ type: "room.create", name, topic: "Zoë's notes", isPublic: true });
      assert.equal(answer.type, "room", name);
    }
    const list = await socket.call({ type: "room.discover" });
    assert.equal(list.type, "rooms");
    socket.close();
  });
});

describe("room spam cannot break the directory (issue 15.4)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ tls: "off", frameRate: 1000, frameBurst: 1000, maxRoomsPerUser: 12 });
  });
  after(() => ts?.stop());

  it("refuses a room beyond the owner's cap with too_many_rooms, and others may still create", async () => {
    const spammer = await TestSocket.authed(ts, (await registerUser(ts)).accessToken);
    for (let i = 0; i < 12; i++) {
      assert.equal(
        (await spammer.call({ type: "room.create", name: `spam ${i}`, isPublic: true })).type,
        "room",
      );
    }
    const refused = await spammer.call({ type: "room.create", name: "one more", isPublic: true });
    assert.equal(refused.type, "error");
    assert.equal((refused as Err).code, "too_many_rooms");
    const direct = await spammer.call({ type: "direct.open", userId: (await registerUser(ts)).user.id });
    assert.equal(direct.type, "room", "direct conversations do not count");
    const other = await TestSocket.authed(ts, (await registerUser(ts)).accessToken);
    assert.equal((await other.call({ type: "room.create", name: "ops", isPublic: true })).type, "room");
    spammer.close();
    other.close();
  });

  it("pages the directory with a cursor, finds rooms by name, and refuses a forged cursor", async () => {
    const a = await TestSocket.authed(ts, (await registerUser(ts)).accessToken);
    const b = await TestSocket.authed(ts, (await registerUser(ts)).accessToken);
    const made = new Set<string>();
    for (const socket of [a, b]) {
      for (let i = 0; i < 10; i++) {
        const answer = (await socket.call({
          type: "room.create",
          name: `paged ${made.size}`,
          isPublic: true,
        })) as {
          room: { id: string };
        };
        made.add(answer.room.id);
      }
      await socket.call({ type: "room.create", name: "hidden", isPublic: false });
    }
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 20; page++) {
      const answer = (await a.call({ type: "room.discover", limit: 7, ...(after ? { after } : {}) })) as {
        type: string;
        rooms: { id: string; name: string; isPublic: boolean }[];
        next?: string;
      };
      assert.equal(answer.type, "rooms");
      assert.ok(answer.rooms.length <= 7);
      assert.ok(answer.rooms.every((r) => r.isPublic));
      seen.push(...answer.rooms.map((r) => r.id));
      after = answer.next;
      if (after === undefined) break;
    }
    assert.equal(after, undefined, "the pages end");
    assert.equal(new Set(seen).size, seen.length, "no room twice");
    for (const id of made) assert.ok(seen.includes(id), "every public room once");
    const found = (await a.call({ type: "room.discover", query: "PAGED 1" })) as {
      rooms: { name: string }[];
    };
    assert.deepEqual(found.rooms.map((r) => r.name).sort(), [
      "paged 1",
      "paged 10",
      "paged 11",
      "paged 12",
      "paged 13",
      "paged 14",
      "paged 15",
      "paged 16",
      "paged 17",
      "paged 18",
      "paged 19",
    ]);
    for (const bad of [
      { after: "x.y" },
      { after: "1.abc; drop" },
      { limit: 101 },
      { limit: 0 },
      { query: "q".repeat(65) },
    ]) {
      const refused = await a.call({ type: "room.discover", ...bad });
      assert.equal(refused.type, "error", JSON.stringify(bad));
      assert.equal((refused as Err).code, "validation_failed", JSON.stringify(bad));
    }
    a.close();
    b.close();
  });
});

describe("device registration costs what it verifies, once (issue 15.1, 15.3)", () => {
  let ts: TestServer;
  before(async () => {
    // A frame rate limit that never interferes: what is measured is the verification budget.
    ts = await startTestServer({
      tls: "off",
      frameRate: 10_000,
      frameBurst: 10_000,
      maxDevicesPerAccount: 3,
      keyPackageVerifyBurst: 150,
      keyPackageVerifyRate: 0.01,
    });
  });
  after(() => ts?.stop());

  it("answers a replayed device.register without verifying its KeyPackages again", async () => {
    const alice = await registerUser(ts);
    const device = await deviceOf(ts, alice.accessToken, alice.user.id, 100);
    const start = await verified(ts);
    const first = await device.socket.call(device.register);
    assert.equal(first.type, "keypackages.count", JSON.stringify(first));
    assert.equal(await verified(ts), start + 101);
    // The same frame ten times at once (a replay): each is answered as before, none is checked again.
    const replays = await Promise.all(Array.from({ length: 10 }, () => device.socket.call(device.register)));
    for (const r of replays)
      assert.deepEqual([r.type, (r as { remaining?: number }).remaining], ["keypackages.count", 100]);
    assert.equal(await verified(ts), start + 101);
    device.socket.close();
  });

  it("answers another user while one device's KeyPackages are being verified", async () => {
    const alice = await registerUser(ts);
    const bob = await registerUser(ts);
    const bobSocket = await TestSocket.authed(ts, bob.accessToken);
    const device = await deviceOf(ts, alice.accessToken, alice.user.id, 100);
    const order: string[] = [];
    const start = await verified(ts);
    const aliceDone = device.socket
      .call(device.register)
      .then((f: ServerFrame) => order.push(`alice:${f.type}`));
    // Bob asks once the server has started checking Alice's packages: the scrape that shows it
    // is itself an answer given while they are being checked.
    for (let i = 0; i < 500 && (await verified(ts)) === start; i++);
    assert.equal(await verified(ts), start + 101);
    const bobDone = bobSocket
      .call({ type: "room.list" })
      .then((f: ServerFrame) => order.push(`bob:${f.type}`));
    await Promise.all([aliceDone, bobDone]);
    // 101 signatures are checked between turns of the event loop, not in one block.
    assert.deepEqual(order, ["bob:rooms", "alice:keypackages.count"]);
    device.socket.close();
    bobSocket.close();
  });

  it("charges the KeyPackages verified to the account: fresh ones beyond the budget are rate_limited", async () => {
    const mallory = await registerUser(ts);
    const device = await deviceOf(ts, mallory.accessToken, mallory.user.id, 1);
    assert.equal((await device.socket.call(device.register)).type, "keypackages.count");
    const start = await verified(ts);
    const answers: ServerFrame[] = [];
    // Fresh packages each time: four uploads of 50 would be 200 signature checks.
    for (let i = 0; i < 4; i++) {
      const keyPackages = (await generateKeyPackages(device.identity, 50)).map((b) => b64(b.keyPackage));
      const answer = await device.socket.call({ type: "keypackages.upload", keyPackages });
      answers.push(answer);
      if (answer.type === "error") break;
    }
    const refused = answers.at(-1) as Err & { type: string };
    assert.equal(refused.type, "error", JSON.stringify(answers.map((a) => a.type)));
    assert.equal(refused.code, "rate_limited");
    assert.ok((refused.retryAfterMs ?? 0) > 0);
    const spent = (await verified(ts)) - start;
    assert.ok(spent <= ts.server.config.keyPackageVerifyBurst, `${spent} verified`);
    // The refused frame cost nothing, and other requests of the same account still go through.
    assert.equal((await device.socket.call({ type: "room.list" })).type, "rooms");
    device.socket.close();
  });

  it("caps the devices of one account with too_many_devices", async () => {
    const carol = await registerUser(ts);
    const carolsKey = generateIdentityKey();
    const answers: ServerFrame[] = [];
    for (let i = 0; i < 4; i++) {
      const device = await deviceOf(ts, carol.accessToken, carol.user.id, 1, carolsKey);
      answers.push(await device.socket.call(device.register));
      device.socket.close();
    }
    assert.deepEqual(
      answers.map((a) => (a.type === "error" ? (a as Err).code : a.type)),
      ["keypackages.count", "keypackages.count", "keypackages.count", "too_many_devices"],
    );
  });
});

describe("password changes are limited per account and never hash an unchanged password (issue 15.2)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ tls: "off", passwordChangesPerHour: 3 });
  });
  after(() => ts?.stop());

  it("refuses a new password equal to the current one with validation_failed", async () => {
    const session = await registerUser(ts);
    const res = await request<Err>(ts, "POST", "/api/password", {
      token: session.accessToken,
      body: { currentPassword: STRONG_PASSWORD, newPassword: STRONG_PASSWORD },
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.code, "validation_failed");
  });

  it("answers the changes beyond the account's hourly budget with 429 rate_limited and Retry-After", async () => {
    const session = await registerUser(ts);
    let current = STRONG_PASSWORD;
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof request<Err>>> | undefined;
    for (let i = 0; i < 5; i++) {
      const next = `${STRONG_PASSWORD}-${i}x`;
      last = await request<Err>(ts, "POST", "/api/password", {
        token: session.accessToken,
        body: { currentPassword: current, newPassword: next },
      });
      statuses.push(last.status);
      if (last.status === 204) current = next;
    }
    assert.deepEqual(statuses, [204, 204, 204, 429, 429]);
    assert.equal(last?.body.code, "rate_limited");
    assert.ok(Number(last?.headers["retry-after"]) > 0);
    // Another account is not affected.
    const other = await registerUser(ts);
    const res = await request(ts, "POST", "/api/password", {
      token: other.accessToken,
      body: { currentPassword: STRONG_PASSWORD, newPassword: `${STRONG_PASSWORD}-other` },
    });
    assert.equal(res.status, 204, res.text);
  });
});

describe("one-time KeyPackages cannot be drained by others (issue 15.5)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      tls: "off",
      frameRate: 10_000,
      frameBurst: 10_000,
      keyPackageClaimsPerPair: 2,
      keyPackageClaimsPerTarget: 5,
    });
  });
  after(() => ts?.stop());

  it("hands out the last resort beyond the per-claimer and per-target limits, to several claimers", async () => {
    const target = await registerUser(ts);
    const device = await deviceOf(ts, target.accessToken, target.user.id, 30);
    assert.equal((await device.socket.call(device.register)).type, "keypackages.count");
    const lastResort = device.register.lastResort as string;
    const claimers = await Promise.all(
      Array.from({ length: 4 }, async () => TestSocket.authed(ts, (await registerUser(ts)).accessToken)),
    );
    const handedOut: string[] = [];
    for (const socket of claimers) {
      for (let i = 0; i < 3; i++) {
        const answer = await socket.call({ type: "keypackages.claim", userId: target.user.id });
        assert.equal(answer.type, "keypackages", JSON.stringify(answer));
        const got = (answer as { devices: { keyPackage: string }[] }).devices;
        assert.equal(got.length, 1, "every claim still gets a package for the device");
        handedOut.push(got[0]?.keyPackage ?? "");
      }
    }
    const oneTime = handedOut.filter((p) => p !== lastResort);
    // Each claimer took at most 2, and all of them together at most 5 of the 30.
    assert.equal(oneTime.length, 5, `${oneTime.length} one-time packages handed out`);
    assert.equal(new Set(oneTime).size, 5);
    const supply = await device.socket.call({ type: "keypackages.upload", keyPackages: [] });
    assert.equal((supply as { remaining?: number }).remaining, 25);
    for (const s of [...claimers, device.socket]) s.close();
  });
});

describe("every connection has a deadline (issue 15.6)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ requestTimeoutS: 1 });
  });
  after(() => ts?.stop());

  it("closes a TCP connection that never starts its TLS handshake after the request timeout", async () => {
    const closed = await new Promise<string>((resolve) => {
      const socket = connect(ts.server.port, "127.0.0.1");
      socket.on("close", () => resolve("closed by the server"));
      socket.on("error", () => undefined);
      // A bound for the test only (Node's own default is 120 s): the setting here is 1 s.
      socket.setTimeout(20_000, () => {
        socket.destroy();
        resolve("still open");
      });
    });
    assert.equal(closed, "closed by the server");
  });

  it("closes a connection whose request headers trickle in, at the headers deadline", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ port: ts.server.port, host: "127.0.0.1", rejectUnauthorized: false });
      let answer = "";
      // One header byte every 200 ms: each keeps the socket busy, none completes the headers.
      let drip: NodeJS.Timeout | undefined;
      socket.once("secureConnect", () => {
        socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
        drip = setInterval(() => socket.write("X"), 200);
      });
      socket.on("data", (d: Buffer) => {
        answer += d.toString();
      });
      socket.on("error", () => undefined);
      socket.on("close", () => {
        clearInterval(drip);
        resolve(answer === "" ? "closed" : `closed after: ${answer.split("\r\n")[0]}`);
      });
      // A bound for the test only: without a headers deadline Node waits 60 s and checks every 30 s.
      setTimeout(() => {
        clearInterval(drip);
        socket.destroy();
        resolve("still open after 20 s");
      }, 20_000).unref();
    });
    assert.match(outcome, /^closed/);
    assert.doesNotMatch(outcome, /200 OK/);
  });
});

describe("the server caps open connections, in all and per address (issue 15.6)", () => {
  let ts: TestServer;
  const held: Socket[] = [];
  before(async () => {
    ts = await startTestServer({ maxConnections: 6, maxConnectionsPerIp: 3 });
  });
  after(async () => {
    for (const s of held) s.destroy();
    await ts?.stop();
  });

  /** A TLS handshake from `from`: "admitted" when it completes, "refused" when the server closes first. */
  const handshake = (from: string, keep = false) =>
    new Promise<"admitted" | "refused">((resolve) => {
      const socket = tlsConnect({
        socket: connect({ port: ts.server.port, host: "127.0.0.1", localAddress: from }),
        rejectUnauthorized: false,
      });
      socket.once("secureConnect", () => {
        if (keep) held.push(socket);
        else socket.destroy();
        resolve("admitted");
      });
      socket.once("error", () => resolve("refused"));
      socket.once("close", () => resolve("refused"));
    });
  /** A plain TCP connection held open (an idle or pre-auth client), once the server has counted it. */
  const hold = (from: string) =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ port: ts.server.port, host: "127.0.0.1", localAddress: from }, () =>
        resolve(),
      );
      socket.on("error", reject);
      held.push(socket);
    });
  const refusedMetric = async (reason: string) =>
    metricSum(await scrapeMetrics(ts), "parley_connections_refused_total", { reason });

  it("closes the connection over the per-address cap before TLS, and other addresses still get in", async () => {
    for (let i = 0; i < 3; i++) await hold("127.0.0.2");
    assert.equal(await handshake("127.0.0.2"), "refused");
    assert.equal(await handshake("127.0.0.3"), "admitted", "another machine is not affected");
    assert.equal(await refusedMetric("per_ip"), 1);
    // One of the three closes: the address may connect again.
    held.shift()?.destroy();
    let again: string = "refused";
    for (let i = 0; i < 50 && again === "refused"; i++) {
      again = await handshake("127.0.0.2");
      if (again === "refused") await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(again, "admitted");
  });

  it("closes every new connection once the total is reached, and counts why", async () => {
    // 2 held from 127.0.0.2 so far; 4 more fill the 6.
    await hold("127.0.0.4");
    await hold("127.0.0.4");
    await hold("127.0.0.5");
    await hold("127.0.0.5");
    assert.equal(await handshake("127.0.0.6"), "refused");
    const before = await (async () => {
      for (const s of held.splice(0)) s.destroy();
      // The scrape itself needs a connection: wait until the server has seen the others close.
      for (let i = 0; i < 50; i++) {
        try {
          return await refusedMetric("global");
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      throw new Error("the server did not release the closed connections");
    })();
    assert.ok(before >= 1, `refused for the total: ${before}`);
    assert.equal(await handshake("127.0.0.6"), "admitted");
  });
});
