import type { ConnectResult } from "../load/ipc.js";
import { ResourceWindow } from "../measure/resource-window.js";
import { readProcess } from "../system/proc.js";
import type { RunningServer } from "../targets/target.js";
import { idleSetups, shareOf } from "./layout.js";
import type { BenchContext, IdleData, IdleStep, Scenario } from "./types.js";

/** File descriptors kept back from the limit for everything that is not a client socket. */
const FD_RESERVE = 256;
const CONNECT_CONCURRENCY = 200;
const SETTLE_MS = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Scenario 1, idle connections: open and authenticate 1k, then 10k, then 20k connections that
 * send nothing, and read the server's RSS after each step. RSS per connection is the growth
 * over the empty server's RSS divided by the connections held. Counts above what the open-file
 * limits of the server and the generator processes allow are lowered, and the report says so.
 */
export const idle: Scenario = {
  id: "idle",
  number: 1,
  title: "Idle connections",
  cases: (plan) => [
    {
      scenario: "idle",
      id: "idle",
      title: `hold ${plan.idleSteps.join(", ")} idle connections`,
      targets: plan.targets,
      run: async (ctx, server) => ({ kind: "idle", idle: await runIdle(ctx, server, plan.idleSteps) }),
    },
  ],
};

async function runIdle(
  ctx: BenchContext,
  server: RunningServer,
  steps: readonly number[],
): Promise<IdleData> {
  const P = ctx.pool.size;
  const byServer = (server.openFiles ?? Number.MAX_SAFE_INTEGER) - FD_RESERVE;
  const byGenerators = (ctx.generatorOpenFiles - FD_RESERVE) * P;
  const limit = Math.max(1, Math.min(byServer, byGenerators));
  const targets = [...steps]
    .sort((a, b) => a - b)
    .map((requested) => ({ requested, target: Math.min(requested, limit) }));
  const clamped = targets.filter((t) => t.target < t.requested);
  const clampNote =
    clamped.length > 0
      ? `lowered ${clamped.map((t) => `${t.requested} to ${t.target}`).join(", ")}: open-file limit ` +
        `${Math.min(server.openFiles ?? Number.POSITIVE_INFINITY, ctx.generatorOpenFiles)} ` +
        `(server ${server.openFiles ?? "?"}, generator ${ctx.generatorOpenFiles}, ${FD_RESERVE} kept back), ` +
        "and `ulimit -n` could not raise it"
      : null;
  const max = Math.max(...targets.map((t) => t.target));
  const setups = idleSetups(ctx, server, max);
  try {
    await Promise.all(setups.map((s, p) => ctx.pool.call(p, s)));
    await sleep(1000);
    const baseline = (await readProcess(server.pid))?.rssBytes ?? Number.NaN;
    const out: IdleStep[] = [];
    let before = 0;
    for (const t of targets) {
      if (t.target <= before) continue;
      const window = await ResourceWindow.open([server.pid], ctx.pool.pids, ctx.cores);
      const results: ConnectResult[] = await Promise.all(
        setups.map((_, p) =>
          ctx.pool.call(p, {
            op: "connect",
            upTo: shareOf(t.target, p, P),
            concurrency: CONNECT_CONCURRENCY,
          }),
        ),
      );
      const use = await window.close();
      const connected = results.reduce((n, r) => n + r.connected, 0);
      const connectMs = Math.max(0, ...results.map((r) => r.durationMs));
      await sleep(SETTLE_MS);
      const rss = (await readProcess(server.pid))?.rssBytes ?? Number.NaN;
      out.push({
        requested: t.requested,
        target: t.target,
        connected,
        failed: results.reduce((n, r) => n + r.failed, 0),
        connectMs,
        perS: connectMs > 0 ? ((connected - before) / connectMs) * 1000 : 0,
        rssBytes: rss,
        rssPerConnectionBytes: connected > 0 ? (rss - baseline) / connected : Number.NaN,
        connectServerCpu: use.serverCpu,
        connectGeneratorCpu: use.generatorCpu,
        connectGeneratorBound: use.generatorBound,
        samples: results.flatMap((r) => r.samples).slice(0, 5),
      });
      ctx.log(`    ${connected} connections held, RSS ${(rss / 2 ** 20).toFixed(0)} MiB`);
      before = connected;
    }
    const reports = await ctx.pool.all({ op: "report" });
    return {
      baselineRssBytes: baseline,
      clampNote,
      steps: out,
      lost: reports.reduce((n, r) => n + r.lost, 0),
    };
  } finally {
    await ctx.pool.all({ op: "reset" });
  }
}
