import type { ClientIdentity, ClientTarget } from "../load/clients/index.js";
import type { SetupCommand } from "../load/ipc.js";
import { nodesOf, type RunningServer } from "../targets/target.js";
import type { BenchContext } from "./types.js";

/**
 * How clients and rooms are spread over the generator processes. A room is never split: its
 * sender and receivers share a process, hence a clock and the delivery accounting. On a
 * multi-node target the members of a room alternate between the nodes, so every message
 * reaches about half its recipients through the other node.
 */

export function clientTarget(server: RunningServer, receipts = false): ClientTarget {
  return {
    kind: server.target.client,
    url: server.wsUrl,
    ...(server.ca !== undefined ? { ca: server.ca } : {}),
    ...(receipts ? { receipts } : {}),
  };
}

/**
 * Identity of client `i`: for Parley, account `i mod accounts` (one socket each until they run
 * out), of the server's own accounts when it has them; on a multi-node target, node `node mod
 * nodes`.
 */
export function identity(ctx: BenchContext, server: RunningServer, i: number, node = i): ClientIdentity {
  const users = (server.accounts ?? ctx.accounts).users;
  const token = server.target.accounts ? (users[i % users.length]?.accessToken ?? "") : "";
  if (server.target.accounts && token === "") throw new Error("no Parley accounts registered");
  const localAddress = ctx.sourceAddresses[i % ctx.sourceAddresses.length] as string;
  const nodes = nodesOf(server);
  if (nodes.length === 1) return { token, localAddress };
  return { token, localAddress, url: (nodes[node % nodes.length] as (typeof nodes)[number]).wsUrl };
}

/** `clients` clients in rooms of `roomSize` (the last room may be smaller, never below 2). */
export function roomSetups(
  ctx: BenchContext,
  server: RunningServer,
  o: { clients: number; roomSize: number; payloadBytes: number; roomPrefix: string; receipts?: boolean },
): SetupCommand[] {
  const P = ctx.pool.size;
  const setups: SetupCommand[] = Array.from({ length: P }, (_, p) => ({
    op: "setup",
    target: clientTarget(server, o.receipts),
    identities: [],
    rooms: [],
    roomPrefix: `${o.roomPrefix}-g${p}`,
    payloadBytes: o.payloadBytes,
  }));
  const roomCount = Math.floor(o.clients / o.roomSize);
  for (let r = 0; r < roomCount; r++) {
    const s = setups[r % P] as SetupCommand;
    const members: number[] = [];
    for (let k = 0; k < o.roomSize; k++) {
      members.push(s.identities.length);
      s.identities.push(identity(ctx, server, r * o.roomSize + k, k));
    }
    s.rooms.push(members);
  }
  return setups;
}

/** `total` connections with no rooms, dealt round-robin to the generator processes. */
export function idleSetups(ctx: BenchContext, server: RunningServer, total: number): SetupCommand[] {
  const P = ctx.pool.size;
  const setups: SetupCommand[] = Array.from({ length: P }, () => ({
    op: "setup",
    target: clientTarget(server),
    identities: [],
    rooms: [],
    roomPrefix: "idle",
    payloadBytes: 256,
  }));
  for (let i = 0; i < total; i++) (setups[i % P] as SetupCommand).identities.push(identity(ctx, server, i));
  return setups;
}

/** How many of the first `n` round-robin-dealt clients process `p` of `P` holds. */
export function shareOf(n: number, p: number, P: number): number {
  return n > p ? Math.ceil((n - p) / P) : 0;
}
