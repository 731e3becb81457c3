import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ClientEvents,
  type ConnectionStatus,
  type ErrorEvent,
  type FetchLike,
  MemoryStore,
  type MessageEvent,
  ParleyClient,
  type WebSocketConstructor,
} from "@parley/client";
import { Redis } from "ioredis";
import pg from "pg";
import { pinnedWebSocket } from "../../packages/cli/src/chat/websocket.js";
import { trustedFetch } from "../../packages/cli/src/https-fetch.js";
import { TestSchemas } from "../../packages/server/src/storage/test-databases.js";
import { deleteKeys, type NodeProcess, spawnNode } from "./support/cluster.js";
import { STRONG_PASSWORD, uniqueName } from "./support/harness.js";

// Issue 7, "kill -9 of node A": two Parley servers as child processes on one PostgreSQL schema
// (fresh per run) and one Redis key prefix (deleted at the end). SDK clients get both URLs.
// Node A is killed with SIGKILL: its clients must move to B, catch up from the durable
// handshake queue (in PostgreSQL) and keep chatting; the presence A held must expire.

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL;
const DATABASE_URL = process.env.PARLEY_TEST_DATABASE_URL;
const REQUIRE_SERVICES = process.env.PARLEY_REQUIRE_SERVICES === "1";

function describeCluster(name: string, body: (redisUrl: string, databaseUrl: string) => void): void {
  if (REDIS_URL && DATABASE_URL) describe(name, () => body(REDIS_URL, DATABASE_URL));
  else if (REQUIRE_SERVICES)
    test(name, () => assert.fail("PARLEY_REQUIRE_SERVICES=1 but the Redis or PostgreSQL URL is not set"));
  else
    describe(
      name,
      { skip: "PARLEY_TEST_REDIS_URL and PARLEY_TEST_DATABASE_URL are needed" },
      () => undefined,
    );
}

/** Connections to `url` fail (a port nobody listens on) while `blocked` holds for it. */
class Gate {
  readonly blocked = new Set<string>();

  WebSocket(ca: string): WebSocketConstructor {
    const Pinned = pinnedWebSocket(ca);
    const gate = this;
    return class GatedWebSocket extends (Pinned as unknown as new (url: string) => object) {
      constructor(url: string) {
        const origin = new URL(url.replace(/^ws/, "http")).origin;
        super(gate.blocked.has(origin) ? "wss://127.0.0.1:1/ws" : url);
      }
    } as unknown as WebSocketConstructor;
  }
}

interface Client {
  readonly client: ParleyClient;
  readonly id: string;
  readonly username: string;
  readonly errors: ErrorEvent[];
  /** Host and path of every REST call, in order. */
  readonly rest: string[];
}

function next<K extends keyof ClientEvents>(
  c: Client,
  name: K,
  match: (e: ClientEvents[K]) => boolean = () => true,
  ms = 30_000,
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

async function say(from: Client, to: Client[], roomId: string, text: string): Promise<void> {
  const arrivals = to.map((c) => next(c, "message", textIn(roomId, text)));
  await from.client.send(roomId, text);
  for (const m of await Promise.all(arrivals)) assert.equal(m.from.userId, from.id);
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

async function sameEpoch(clients: Client[], roomId: string): Promise<number> {
  let epochs: (number | undefined)[] = [];
  await eventually(async () => {
    epochs = await Promise.all(clients.map((c) => c.client.epoch(roomId)));
    return epochs.every((e) => e !== undefined && e === epochs[0]);
  }, "the same epoch everywhere");
  return epochs[0] as number;
}

describeCluster("kill -9 of one of two servers", (redisUrl, baseDatabaseUrl) => {
  const schemas = new TestSchemas(baseDatabaseUrl);
  const prefix = `parley-test-${randomBytes(6).toString("hex")}:failover:`;
  const admin = new Redis(redisUrl);
  const gate = new Gate();
  const clients: Client[] = [];
  let databaseUrl: string;
  let a: NodeProcess | undefined;
  let b: NodeProcess | undefined;

  const node = (options: { shareWith?: NodeProcess }) =>
    spawnNode({
      redisUrl,
      databaseUrl,
      redisPrefix: prefix,
      // Short presence timings so a dead node's users go offline in seconds, not 15 s.
      heartbeatMs: 500,
      presenceTtlMs: 2000,
      ...options,
    });

  async function signUp(urls: string[], name: string): Promise<Client> {
    const ca = (a as NodeProcess).ca;
    const rest: string[] = [];
    const tls = trustedFetch({ ca, timeoutMs: 10_000 });
    const fetch: FetchLike = (url, init) => {
      const u = new URL(url);
      rest.push(`${u.origin}${u.pathname}`);
      return tls(url, init);
    };
    const client = new ParleyClient({
      baseUrl: urls,
      fetch,
      WebSocket: gate.WebSocket(ca),
      store: new MemoryStore(),
      backoff: { baseMs: 100, maxMs: 1000 },
      syncTimeoutMs: 10_000,
    });
    const errors: ErrorEvent[] = [];
    client.on("error", (e) => errors.push(e));
    const username = uniqueName(name);
    const user = await client.register(username, STRONG_PASSWORD);
    await client.connect();
    const c = { client, id: user.id, username, errors, rest };
    clients.push(c);
    return c;
  }

  before(async () => {
    databaseUrl = await schemas.create();
    a = await node({});
    // B shares A's JWT secret and local CA, as the operator's guide says.
    b = await node({ shareWith: a });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await Promise.all([a?.stop(), b?.stop()]);
    await schemas.dropAll();
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  test("A's clients move to B, catch up on commits made while away, chat both ways; A's presence expires; the queue is drained", {
    timeout: 180_000,
  }, async () => {
    const A = (a as NodeProcess).url;
    const B = (b as NodeProcess).url;
    const alice = await signUp([A, B], "alice");
    const carol = await signUp([A, B], "carol");
    const bob = await signUp([B, A], "bob");
    const dave = await signUp([B, A], "dave");
    // erin can only use A: she stays offline once A is gone.
    const erin = await signUp([A], "erin");
    for (const c of [alice, carol, erin])
      assert.deepEqual(c.client.status, { state: "connected", server: A });
    for (const c of [bob, dave]) assert.deepEqual(c.client.status, { state: "connected", server: B });

    const room = await bob.client.createRoom("incident", { isPublic: false });
    for (const c of [alice, carol]) {
      await bob.client.invite(room.id, c.id);
      await c.client.join(room.id);
    }
    const before = await sameEpoch([alice, bob, carol], room.id);
    await say(alice, [bob, carol], room.id, "before, from A");
    await say(bob, [alice, carol], room.id, "before, from B");

    // Kill A. Hold A's clients away from B for a moment, so that the next commits are made
    // while they are away and can only reach them through the durable queue.
    gate.blocked.add(B);
    const erinOffline = next(bob, "presence", (p) => p.userId === erin.id && !p.online, 60_000);
    erinOffline.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    const aliceGone = next(alice, "status", (s) => s.state !== "connected");
    process.kill((a as NodeProcess).pid, "SIGKILL");
    assert.equal(await (a as NodeProcess).exited, null, "killed by a signal");
    await aliceGone;

    await bob.client.invite(room.id, dave.id);
    await dave.client.join(room.id);
    const during = await sameEpoch([bob, dave], room.id);
    assert.ok(during > before, "dave's addition is a new epoch");
    assert.ok(((await alice.client.epoch(room.id)) ?? 0) < during, "alice has not seen it yet");

    const back = (c: Client) =>
      next(c, "status", (s: ConnectionStatus) => s.state === "connected" && s.server === B, 60_000);
    const returned = [back(alice), back(carol)];
    gate.blocked.delete(B);
    await Promise.all(returned);

    // Caught up from the queue: every member holds the same epoch, including dave.
    assert.equal(await sameEpoch([alice, bob, carol, dave], room.id), during);
    await say(alice, [bob, carol, dave], room.id, "after, from alice");
    await say(dave, [alice, bob, carol], room.id, "after, from dave");
    await say(carol, [alice, bob, dave], room.id, "after, from carol");

    // REST follows the socket: the next call goes straight to B.
    const calls = alice.rest.length;
    const users = await alice.client.users();
    assert.deepEqual(alice.rest.slice(calls), [`${B}/api/users`]);
    assert.equal(users.find((u) => u.id === alice.id)?.online, true);
    // A login with both URLs, A first, lands on B.
    const frank = new ParleyClient({
      baseUrl: [A, B],
      fetch: trustedFetch({ ca: (a as NodeProcess).ca }),
      WebSocket: pinnedWebSocket((a as NodeProcess).ca),
      store: new MemoryStore(),
    });
    assert.equal((await frank.login(alice.username, STRONG_PASSWORD)).id, alice.id);
    await frank.close();

    // The presence A held expires: erin goes offline for others, and no presence entry names A.
    await erinOffline;
    const nodeA = (a as NodeProcess).nodeId;
    for (const c of [alice, carol, erin]) {
      await eventually(
        async () => !(await admin.hvals(`${prefix}presence:${c.id}`)).includes(nodeA),
        `${c.username}'s presence on A gone`,
      );
    }
    assert.equal((await bob.client.users()).find((u) => u.id === erin.id)?.online, false);
    assert.equal((await bob.client.users()).find((u) => u.id === carol.id)?.online, true);

    // Nothing queued was lost: every handshake for the returning devices was acknowledged.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      await eventually(async () => {
        const { rows } = await db.query<{ n: string }>(
          "select count(*) as n from handshake_queue where user_id = any($1)",
          [[alice.id, carol.id, bob.id, dave.id]],
        );
        return rows[0]?.n === "0";
      }, "the handshake queue drained");
    } finally {
      await db.end();
    }
    for (const c of [alice, bob, carol, dave]) {
      assert.deepEqual(
        c.errors.map((e) => `${e.code}: ${e.error.message}`),
        [],
        `${c.username} reported errors`,
      );
    }
  });
});
