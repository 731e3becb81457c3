import { fanoutCase } from "./fanout.js";
import type { Scenario } from "./types.js";

/** One node and two nodes, both on PostgreSQL + Redis. */
export const CLUSTER_TARGETS = ["parley-redis", "parley-cluster"] as const;

/**
 * Scenario 7, multi-node fan-out (the scale-out issue): the fan-out cases at the first payload
 * size, against two Parley nodes on one PostgreSQL and one Redis with each room's members split
 * between them, and against one node on the same services. The single-node SQLite figure is
 * the fan-out scenario's own. Skipped, with the reason, where PostgreSQL or Redis do not answer.
 */
export const cluster: Scenario = {
  id: "cluster",
  number: 7,
  title: "Fan-out across two nodes (PostgreSQL + Redis)",
  cases: (plan) => {
    if (!plan.targets.includes("parley")) return [];
    const payloadBytes = plan.payloadSizes[0] ?? 256;
    return plan.fanoutRoomSizes.map((roomSize) =>
      fanoutCase(plan, roomSize, payloadBytes, CLUSTER_TARGETS, "cluster"),
    );
  },
};
