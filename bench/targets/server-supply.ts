import type { CorePlan } from "../system/pinning.js";
import { pinPrefix } from "../system/pinning.js";
import type { ClusterBackend } from "./cluster-backend.js";
import { startParley } from "./start-parley.js";
import { startPeer } from "./start-peer.js";
import { type RunningServer, type TargetId, TargetUnavailableError } from "./target.js";

export interface ServerSupplyOptions {
  /** Keep one server per target for the whole run (quick mode) instead of one per run. */
  reuse: boolean;
  cores: CorePlan;
  dataDir: string;
  openFiles: number;
  /** PostgreSQL + Redis for `parley-redis` and `parley-cluster`, or why there are none. */
  cluster: Promise<ClusterBackend | string>;
  /** Extra node flags for the Parley server under test (e.g. `--cpu-prof`). */
  parleyNodeArgs?: readonly string[];
}

/**
 * Hands out servers under test, pinned to the server cores. By default every run gets a
 * freshly started server, so no run inherits another's heap, sockets or caches; the quick
 * smoke run keeps one per target to stay under two minutes (Parley takes seconds to start).
 */
export class ServerSupply {
  readonly #kept = new Map<TargetId, RunningServer>();

  constructor(private readonly o: ServerSupplyOptions) {}

  /** A running server and how long it took to start (0 when an existing one is reused). */
  async get(target: TargetId): Promise<{ server: RunningServer; startMs: number }> {
    const kept = this.#kept.get(target);
    if (kept) return { server: kept, startMs: 0 };
    const pin = pinPrefix(this.o.cores, this.o.cores.serverCores);
    const t = performance.now();
    const server = await this.#start(target, pin);
    if (this.o.reuse) this.#kept.set(target, server);
    return { server, startMs: performance.now() - t };
  }

  async #start(target: TargetId, pin: readonly string[]): Promise<RunningServer> {
    switch (target) {
      case "parley":
      case "parley-tls":
        return startParley({
          tls: target === "parley-tls",
          dataDir: this.o.dataDir,
          pin,
          openFiles: this.o.openFiles,
          ...(this.o.parleyNodeArgs ? { nodeArgs: this.o.parleyNodeArgs } : {}),
        });
      case "parley-redis":
      case "parley-cluster": {
        // Every node on the server cores, as for one server: the report says so.
        const cluster = await this.o.cluster;
        if (typeof cluster === "string") throw new TargetUnavailableError(cluster);
        return cluster.start(target === "parley-redis" ? 1 : 2, pin);
      }
      default:
        return startPeer(target, { pin, openFiles: this.o.openFiles });
    }
  }

  /** Stops the server after a run unless it is kept; a failed run always gets a fresh one next. */
  async release(server: RunningServer, failed: boolean): Promise<void> {
    if (this.o.reuse && !failed) return;
    this.#kept.delete(server.target.id);
    await server.stop();
  }

  async stopAll(): Promise<void> {
    const all = [...this.#kept.values()];
    this.#kept.clear();
    await Promise.all(all.map((s) => s.stop()));
  }
}
