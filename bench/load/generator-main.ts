import { assertNever } from "@parley/protocol";
import { type BenchClient, clientClass } from "./clients/index.js";
import type { ConnectResult, GeneratorCommand, JoinResult, Reply, Request, SetupCommand } from "./ipc.js";
import { mapLimit } from "./map-limit.js";
import { Traffic } from "./traffic.js";

/**
 * A load-generator process: holds clients, joins them into rooms and offers traffic as the
 * orchestrator commands. It exits when the orchestrator goes away (IPC disconnect), so no
 * generator outlives a run.
 */

if (!process.send) throw new Error("generator-main.ts runs as a child of bench/run.ts (IPC required)");

let setup: SetupCommand | null = null;
let clients: BenchClient[] = [];
let connected: boolean[] = [];
let traffic: Traffic | null = null;

const MAX_SAMPLES = 5;
const CONNECT_ATTEMPTS = 3;

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function handle(c: GeneratorCommand): Promise<unknown> {
  switch (c.op) {
    case "setup": {
      reset();
      setup = c;
      traffic = new Traffic(c.payloadBytes);
      const Client = await clientClass(c.target.kind);
      const sink = traffic;
      clients = c.identities.map(
        (id) => new Client(id.url === undefined ? c.target : { ...c.target, url: id.url }, id, sink),
      );
      connected = clients.map(() => false);
      return null;
    }
    case "connect":
      return connect(c.upTo, c.concurrency);
    case "join":
      return join(c.concurrency);
    case "start":
      need(traffic).start(c.mode, c.maxMs, c.maxMessages);
      return null;
    case "phase":
      need(traffic).phase(c.name);
      return null;
    case "stop":
      need(traffic).stop();
      return null;
    case "drain":
      await need(traffic).drain(c.timeoutMs);
      return null;
    case "report":
      return need(traffic).report();
    case "reset":
      reset();
      return null;
    case "exit":
      reset();
      setImmediate(() => process.exit(0));
      return null;
    default:
      return assertNever(c);
  }
}

async function connect(upTo: number, concurrency: number): Promise<ConnectResult> {
  const started = performance.now();
  const todo: number[] = [];
  for (let i = 0; i < Math.min(upTo, clients.length); i++) if (!connected[i]) todo.push(i);
  let retries = 0;
  const outcomes = await mapLimit(todo, concurrency, async (i) => {
    const client = clients[i] as BenchClient;
    // A server flooded by a mass connect may time a socket out (Parley: auth_timeout); a
    // bounded retry keeps one slow handshake from costing a whole room.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.connect();
        connected[i] = true;
        return;
      } catch (e) {
        if (attempt >= CONNECT_ATTEMPTS) throw e;
        retries++;
      }
    }
  });
  const failures = outcomes.filter((o) => o.status === "rejected");
  return {
    connected: connected.filter(Boolean).length,
    failed: failures.length,
    retries,
    durationMs: performance.now() - started,
    samples: failures.slice(0, MAX_SAMPLES).map((f) => describe(f.reason)),
  };
}

async function join(concurrency: number): Promise<JoinResult> {
  const s = need(setup);
  const t = need(traffic);
  const started = performance.now();
  const samples: string[] = [];
  // Owners create their rooms first, then every other member joins; a room with a failed
  // member is left out of the traffic rather than skewing the delivery accounting.
  const rooms = s.rooms.map((members, r) => ({ members, name: `${s.roomPrefix}-${r}`, key: "" }));
  const bad = new Set<string>();
  for (const room of rooms) {
    if (room.members.some((m) => !connected[m])) {
      bad.add(room.name);
      if (samples.length < MAX_SAMPLES) samples.push(`${room.name}: a member is not connected`);
    }
  }
  const created = await mapLimit(rooms, concurrency, async (room) => {
    if (bad.has(room.name)) throw new Error(`${room.name}: skipped`);
    room.key = await (clients[room.members[0] as number] as BenchClient).createRoom(room.name);
  });
  const joins = rooms.flatMap((room, r) =>
    created[r]?.status === "fulfilled" ? room.members.slice(1).map((m) => ({ room, m })) : [],
  );
  // Joining is idempotent on every server: one retry rides out an answer that came too late.
  const joined = await mapLimit(joins, concurrency, ({ room, m }) =>
    (clients[m] as BenchClient)
      .joinRoom(room.key)
      .catch(() => (clients[m] as BenchClient).joinRoom(room.key)),
  );
  for (const [r, o] of created.entries()) {
    if (o.status === "rejected" && !bad.has(rooms[r]?.name ?? "")) {
      bad.add(rooms[r]?.name ?? "");
      if (samples.length < MAX_SAMPLES) samples.push(describe(o.reason));
    }
  }
  for (const [j, o] of joined.entries()) {
    if (o.status === "rejected") {
      bad.add(joins[j]?.room.name ?? "");
      if (samples.length < MAX_SAMPLES) samples.push(describe(o.reason));
    }
  }
  for (const room of rooms) {
    if (bad.has(room.name)) continue;
    t.addRoom(
      room.key,
      room.members.map((m) => clients[m] as BenchClient),
    );
  }
  return {
    rooms: rooms.length - bad.size,
    failed: bad.size,
    durationMs: performance.now() - started,
    samples,
  };
}

function reset(): void {
  traffic?.stop();
  for (const c of clients) c.close();
  clients = [];
  connected = [];
  traffic = null;
  setup = null;
}

function need<T>(v: T | null): T {
  if (v === null) throw new Error("no setup: send a setup command first");
  return v;
}

process.on("message", (msg: Request) => {
  handle(msg.command).then(
    (result) => process.send?.({ id: msg.id, ok: true, result } satisfies Reply),
    (e: unknown) => process.send?.({ id: msg.id, ok: false, error: describe(e) } satisfies Reply),
  );
});
process.on("disconnect", () => {
  reset();
  process.exit(0);
});
process.send({ ready: true });
