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

/** CPU and memory over one measurement window; CPU as a share of one core (1 = 100 %). */
export interface ResourceUse {
  serverCpu: number;
  serverRssBytes: number;
  /** Highest RSS sampled during the window (every 250 ms). */
  serverPeakRssBytes: number;
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
 * Brackets a measurement window: CPU time from /proc/<pid>/stat of the server and of every
 * generator process, core busy time from /proc/stat, RSS from /proc/<pid>/status.
 */
export class ResourceWindow {
  #peakRss = 0;
  readonly #timer: NodeJS.Timeout;

  private constructor(
    private readonly serverPid: number,
    private readonly generatorPids: readonly number[],
    private readonly cores: CorePlan,
    private readonly server0: ProcessSample | null,
    private readonly generators0: (ProcessSample | null)[],
    private readonly cores0: CoreTimes | null,
  ) {
    this.#timer = setInterval(() => {
      void readProcess(serverPid).then((s) => {
        if (s) this.#peakRss = Math.max(this.#peakRss, s.rssBytes);
      });
    }, RSS_SAMPLE_MS);
  }

  static async open(
    serverPid: number,
    generatorPids: readonly number[],
    cores: CorePlan,
  ): Promise<ResourceWindow> {
    const [server0, cores0, ...generators0] = await Promise.all([
      readProcess(serverPid),
      readCoreTimes(),
      ...generatorPids.map(readProcess),
    ]);
    return new ResourceWindow(
      serverPid,
      generatorPids,
      cores,
      server0 as ProcessSample | null,
      generators0 as (ProcessSample | null)[],
      cores0 as CoreTimes | null,
    );
  }

  async close(): Promise<ResourceUse> {
    clearInterval(this.#timer);
    const [server1, cores1, ...generators1] = await Promise.all([
      readProcess(this.serverPid),
      readCoreTimes(),
      ...this.generatorPids.map(readProcess),
    ]);
    const s1 = server1 as ProcessSample | null;
    const c1 = cores1 as CoreTimes | null;
    const serverCpu = this.server0 && s1 ? cpuShare(this.server0, s1) : Number.NaN;
    const genShares = this.generators0.map((g0, i) => {
      const g1 = generators1[i] as ProcessSample | null;
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
      serverRssBytes: s1?.rssBytes ?? Number.NaN,
      serverPeakRssBytes: Math.max(this.#peakRss, s1?.rssBytes ?? 0),
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
