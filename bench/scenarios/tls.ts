import { fanoutCase } from "./fanout.js";
import type { Scenario } from "./types.js";

/**
 * The one TLS figure: Parley's first fan-out case again over wss:// with the certificate its
 * local CA issued, next to the plain-ws run of the same case (every other Parley figure runs
 * with PARLEY_TLS=off on loopback, like the references, which have no TLS).
 */
export const tls: Scenario = {
  id: "tls",
  number: 2,
  title: "Fan-out over TLS (Parley)",
  cases: (plan) => {
    if (!plan.targets.includes("parley")) return [];
    const roomSize = plan.fanoutRoomSizes[0] ?? 10;
    const payloadBytes = plan.payloadSizes[0] ?? 256;
    return [fanoutCase(plan, roomSize, payloadBytes, ["parley-tls"], "tls")];
  },
};
