import type { BenchPlan } from "../plan.js";
import { measureFor, runTraffic } from "./traffic-run.js";
import type { BenchCase, Scenario } from "./types.js";

/**
 * Scenario 2, fan-out: every client in a room of R, as many messages as the server carries
 * (closed loop: each room keeps a window of messages in flight), for the measured duration.
 * Every delivery to every other member counts.
 */
export const fanout: Scenario = {
  id: "fanout",
  number: 2,
  title: "Fan-out at max rate",
  cases: (plan) =>
    plan.payloadSizes.flatMap((payloadBytes) =>
      plan.fanoutRoomSizes.flatMap((roomSize) => [
        fanoutCase(plan, roomSize, payloadBytes, plan.targets),
        // Issue 13: the same load with every delivery acknowledged as the SDK does (RCPT-1),
        // on Parley only (the references have no receipts), beside the plain figures.
        ...(plan.targets.includes("parley")
          ? [fanoutCase(plan, roomSize, payloadBytes, ["parley"], "fanout", true)]
          : []),
      ]),
    ),
};

/** "fanout-receipts-r10-256b": the twin of "fanout-r10-256b" with receipts on. */
export const RECEIPTS_TAG = "-receipts";

export function isReceiptsCase(id: string): boolean {
  return id.includes(`${RECEIPTS_TAG}-`);
}

export function fanoutCase(
  plan: BenchPlan,
  roomSize: number,
  payloadBytes: number,
  targets: BenchCase["targets"],
  scenario = "fanout",
  receipts = false,
): BenchCase {
  const window = closedWindow(plan, roomSize);
  return {
    scenario,
    id: `${scenario}${receipts ? RECEIPTS_TAG : ""}-r${roomSize}-${payloadBytes}b`,
    title: `${plan.clients} clients, rooms of ${roomSize}, ${payloadBytes} B payloads, max rate${receipts ? ", every delivery acknowledged (receipts)" : ""}`,
    targets,
    run: async (ctx, server) => ({
      kind: "traffic",
      traffic: await runTraffic(
        ctx,
        server,
        {
          clients: plan.clients,
          roomSize,
          payloadBytes,
          mode: { kind: "closed", window },
          roomPrefix: `r${roomSize}${receipts ? "rc" : ""}`,
          ...(receipts ? { receipts } : {}),
        },
        ["measure"],
        (control) => measureFor(plan.durationS, control),
      ),
    }),
  };
}

/** Messages in flight per room so that about `inflightDeliveries` deliveries are pending. */
export function closedWindow(plan: BenchPlan, roomSize: number): number {
  const rooms = Math.floor(plan.clients / roomSize);
  return Math.max(1, Math.round(plan.inflightDeliveries / (rooms * (roomSize - 1))));
}
