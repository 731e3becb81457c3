import { median } from "../measure/stats.js";
import type { AuthBatchResult } from "../parley/accounts.js";
import { MODERATE_ROOM_SIZE } from "./moderate.js";
import { runTraffic } from "./traffic-run.js";
import type { Scenario, StormData } from "./types.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Scenario 4, login storm: the moderate load runs; after a calm period, N password logins
 * arrive at once (argon2id verification each). The chat latency while they are in flight
 * ("storm") is compared with the calm period before. Parley only: the references have no
 * accounts.
 */
export const loginStorm: Scenario = {
  id: "login-storm",
  number: 4,
  title: "Login storm during moderate load",
  cases: (plan) => {
    if (!plan.targets.includes("parley")) return [];
    const payloadBytes = plan.payloadSizes[0] ?? 256;
    const ratePerS = plan.clients * plan.moderateRatePerClient;
    return [
      {
        scenario: "login-storm",
        id: `login-storm-${plan.stormLogins}`,
        title: `${plan.stormLogins} concurrent logins while ${plan.clients} clients send ${ratePerS} msgs/s (rooms of ${MODERATE_ROOM_SIZE})`,
        targets: ["parley"],
        run: async (ctx, server) => {
          let logins: AuthBatchResult | null = null;
          const traffic = await runTraffic(
            ctx,
            server,
            {
              clients: plan.clients,
              roomSize: MODERATE_ROOM_SIZE,
              payloadBytes,
              mode: { kind: "open", ratePerS },
              roomPrefix: "storm",
            },
            ["calm", "storm"],
            async (control) => {
              await control.phase("calm");
              await sleep(plan.durationS * 1000);
              await control.phase("storm");
              logins = await ctx.accounts.loginStorm(server.httpUrl, plan.stormLogins);
            },
          );
          const l = logins as AuthBatchResult | null;
          if (!l) throw new Error("the login storm did not run");
          const { latenciesMs, ...rest } = l;
          const storm: StormData = {
            traffic,
            logins: { ...rest, p50Ms: median(latenciesMs), maxMs: Math.max(0, ...latenciesMs) },
          };
          return { kind: "storm", storm };
        },
      },
    ];
  },
};
