import { fileURLToPath } from "node:url";
import { spawnChild, TS_NODE_ARGS, waitForLine } from "../system/child.js";
import { httpCall } from "../system/http-json.js";
import { readOpenFileLimit } from "../system/proc.js";
import { type LagReading, lagOf, type RunningServer, TARGETS, TargetUnavailableError } from "./target.js";

const PEERS = {
  "ws-relay": fileURLToPath(new URL("../peers/ws-relay.ts", import.meta.url)),
  "socketio-relay": fileURLToPath(new URL("../peers/socketio-relay.ts", import.meta.url)),
} as const;

export type PeerId = keyof typeof PEERS;

export interface StartPeerOptions {
  pin: readonly string[];
  openFiles: number;
}

type Announcement = { kind: "listening"; url: string } | { kind: "unavailable"; reason: string };

/** Starts a reference relay from bench/peers on 127.0.0.1 and waits for its `listening` line. */
export async function startPeer(id: PeerId, o: StartPeerOptions): Promise<RunningServer> {
  const child = spawnChild({
    argv: [process.execPath, ...TS_NODE_ARGS, PEERS[id], "--host", "127.0.0.1", "--port", "0"],
    pin: o.pin,
    env: {},
    openFiles: o.openFiles,
    label: id,
  });
  let said: Announcement;
  try {
    said = await waitForLine(child, announcement, 60_000);
  } catch (e) {
    await child.stop();
    throw e;
  }
  if (said.kind === "unavailable") {
    await child.stop();
    throw new TargetUnavailableError(said.reason);
  }
  const ws = new URL(said.url);
  const httpUrl = `http://${ws.host}`;
  return {
    target: TARGETS[id],
    pid: child.pid,
    wsUrl: said.url,
    httpUrl,
    openFiles: await readOpenFileLimit(child.pid),
    lag: () => readLag(httpUrl),
    stop: () => child.stop(),
  };
}

function announcement(line: string): Announcement | undefined {
  try {
    const m = JSON.parse(line) as { event?: unknown; url?: unknown; reason?: unknown };
    if (m.event === "listening" && typeof m.url === "string") return { kind: "listening", url: m.url };
    if (m.event === "unavailable") return { kind: "unavailable", reason: String(m.reason) };
  } catch {
    // not ours
  }
  return undefined;
}

async function readLag(httpUrl: string): Promise<LagReading | null> {
  try {
    const r = await httpCall(`${httpUrl}/lag`, { timeoutMs: 10_000 });
    return r.status === 200 ? lagOf(JSON.parse(r.body) as LagReading) : null;
  } catch {
    return null;
  }
}
