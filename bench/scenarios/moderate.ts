import { measureFor, runTraffic } from "./traffic-run.js";
import type { Scenario } from "./types.js";

/** Room size of the moderate-load and login-storm scenarios. */
export const MODERATE_ROOM_SIZE = 10;

/**
 * Scenario 3, moderate load: rooms of 10 and a fixed offered rate (1 message per client per
 * second: 1,000 msgs/s for 1,000 clients), open loop, so the figures are latencies at a load
 * the server can carry rather than its ceiling.
 */
export const moderate: Scenario = {
  id: "moderate",
  number: 3,
  title: "Moderate load",
  cases: (plan) => {
    const payloadBytes = plan.payloadSizes[0] ?? 256;
    const ratePerS = plan.clients * plan.moderateRatePerClient;
    return [
      {
        scenario: "moderate",
        id: `moderate-r${MODERATE_ROOM_SIZE}-${payloadBytes}b`,
        title: `${plan.clients} clients, rooms of ${MODERATE_ROOM_SIZE}, ${ratePerS} msgs/s offered, ${payloadBytes} B`,
        targets: plan.targets,
        run: async (ctx, server) => ({
          kind: "traffic",
          traffic: await runTraffic(
            ctx,
            server,
            {
              clients: plan.clients,
              roomSize: MODERATE_ROOM_SIZE,
              payloadBytes,
              mode: { kind: "open", ratePerS },
              roomPrefix: "mod",
            },
            ["measure"],
            (control) => measureFor(plan.durationS, control),
          ),
        }),
      },
    ];
  },
};
