import type { CorePlan } from "../system/pinning.js";
import {
  type CoreTimes,
  coreBusy,
  cpuShare,
  type ProcessSample,
  readCoreTimes,
  readProcess,
} from "../system/proc.js";

/** Above this share of a core the generator, not the server, may be what limits the figure. */
export const GENERATOR_BOUND_SHARE = 0.85;

const RSS_SAMPLE_MS = 250;

/** One server process of a multi-node target over the window. */
export interface NodeUse {
  cpu: number;
  peakRssBytes: number;
}

/**
 * CPU and memory over one measurement window; CPU as a share of one core (1 = 100 %). For a
 * multi-node target the server figures are the sums over its nodes, each node in `nodes`.
 */
export interface ResourceUse {
  serverCpu: number;
  serverRssBytes: number;
  /** Highest RSS sampled during the window (every 250 ms). */
  serverPeakRssBytes: number;
  nodes?: NodeUse[];
  /** CPU of the services the target depends on (Redis), by name, when their process is local. */
  services?: Record<string, number>;
  /** Sum over the generator processes. */
  generatorCpu: number;
  /** Busiest single generator process. */
  generatorMaxProcessCpu: number;
  /** Whole-core busy share of the server's and the generators' cores, everyone's work included. */
  serverCoreBusy: number;
  generatorCoreBusy: number;
  /** CPU on the server's core used by processes other than the server (other users of the box). */
  serverCoreForeign: number;
  generatorBound: boolean;
}

/**
 * Brackets a measurement window: CPU time from /proc/<pid>/stat of the server (each node of a
 * multi-node target) and of every generator process, core busy time from /proc/stat, RSS from
 * /proc/<pid>/status.
 */
export class ResourceWindow {
  /** Highest RSS per server process, and of their sum. */
  readonly #peakRss: number[];
  #peakTotal = 0;
  readonly #timer: NodeJS.Timeout;

  private constructor(
    private readonly serverPids: readonly number[],
    private readonly generatorPids: readonly number[],
    private readonly cores: CorePlan,
    private readonly servers0: (ProcessSample | null)[],
    private readonly generators0: (ProcessSample | null)[],
    private readonly cores0: CoreTimes | null,
    private readonly services: readonly { name: string; pid: number; at0: ProcessSample | null }[],
  ) {
    this.#peakRss = serverPids.map(() => 0);
    this.#timer = setInterval(() => {
      void Promise.all(serverPids.map(readProcess)).then((samples) => {
        let total = 0;
        for (const [i, s] of samples.entries()) {
          this.#peakRss[i] = Math.max(this.#peakRss[i] ?? 0, s?.rssBytes ?? 0);
          total += s?.rssBytes ?? 0;
        }
        this.#peakTotal = Math.max(this.#peakTotal, total);
      });
    }, RSS_SAMPLE_MS);
  }

  static async open(
    serverPids: readonly number[],
    generatorPids: readonly number[],
    cores: CorePlan,
    services: readonly { name: string; pid: number }[] = [],
  ): Promise<ResourceWindow> {
    const [cores0, [servers0, generators0, at0]] = await Promise.all([
      readCoreTimes(),
      readGroups([serverPids, generatorPids, services.map((x) => x.pid)]),
    ]);
    return new ResourceWindow(
      serverPids,
      generatorPids,
      cores,
      servers0,
      generators0,
      cores0,
      services.map((x, i) => ({ ...x, at0: at0[i] ?? null })),
    );
  }

  async close(): Promise<ResourceUse> {
    clearInterval(this.#timer);
    const [c1, [servers1, generators1, services1]] = await Promise.all([
      readCoreTimes(),
      readGroups([this.serverPids, this.generatorPids, this.services.map((x) => x.pid)]),
    ]);
    const services = Object.fromEntries(
      this.services.flatMap((x, i) => {
        const s1 = services1[i];
        return x.at0 && s1 ? [[x.name, cpuShare(x.at0, s1)]] : [];
      }),
    );
    const nodes: NodeUse[] = this.serverPids.map((_, i) => {
      const s0 = this.servers0[i];
      const s1 = servers1[i];
      return {
        cpu: s0 && s1 ? cpuShare(s0, s1) : Number.NaN,
        peakRssBytes: Math.max(this.#peakRss[i] ?? 0, s1?.rssBytes ?? 0),
      };
    });
    const serverCpu = nodes.reduce((n, x) => n + x.cpu, 0);
    const serverRssBytes = servers1.reduce((n, s) => n + (s?.rssBytes ?? Number.NaN), 0);
    const genShares = this.generators0.map((g0, i) => {
      const g1 = generators1[i];
      return g0 && g1 ? cpuShare(g0, g1) : Number.NaN;
    });
    const meanBusy = (list: readonly number[]) => {
      if (!this.cores0 || !c1 || list.length === 0) return Number.NaN;
      return list.reduce((sum, core) => sum + coreBusy(this.cores0 as CoreTimes, c1, core), 0) / list.length;
    };
    const serverCoreBusy = this.cores.pinned ? meanBusy(this.cores.serverCores) : Number.NaN;
    const generatorCoreBusy = this.cores.pinned ? meanBusy(this.cores.generatorCores) : Number.NaN;
    const generatorMaxProcessCpu = Math.max(0, ...genShares.filter(Number.isFinite));
    const perGeneratorCore = this.cores.pinned
      ? genShares.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) / this.cores.generatorCores.length
      : generatorMaxProcessCpu;
    return {
      serverCpu,
      serverRssBytes,
      serverPeakRssBytes: Math.max(this.#peakTotal, Number.isFinite(serverRssBytes) ? serverRssBytes : 0),
      ...(nodes.length > 1 ? { nodes } : {}),
      ...(this.services.length > 0 ? { services } : {}),
      generatorCpu: genShares.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0),
      generatorMaxProcessCpu,
      serverCoreBusy,
      generatorCoreBusy,
      serverCoreForeign: Number.isFinite(serverCoreBusy)
        ? Math.max(0, serverCoreBusy - serverCpu)
        : Number.NaN,
      generatorBound:
        generatorMaxProcessCpu > GENERATOR_BOUND_SHARE ||
        perGeneratorCore > GENERATOR_BOUND_SHARE ||
        generatorCoreBusy > GENERATOR_BOUND_SHARE,
    };
  }
}

/** /proc samples of the servers, the generators and the services at once, group by group. */
async function readGroups(
  groups: readonly [readonly number[], readonly number[], readonly number[]],
): Promise<[(ProcessSample | null)[], (ProcessSample | null)[], (ProcessSample | null)[]]> {
  const [servers, generators, services] = groups.map((pids) => Promise.all(pids.map(readProcess)));
  return Promise.all([servers ?? [], generators ?? [], services ?? []]);
}
