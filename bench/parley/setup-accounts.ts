import type { BenchPlan } from "../plan.js";
import type { BenchResults } from "../results-file.js";
import { type CorePlan, pinPrefix } from "../system/pinning.js";
import { startParley } from "../targets/start-parley.js";
import type { BenchAccounts } from "./accounts.js";
import type { ParleyBackend } from "./bench-config.js";

/** Concurrent registrations: a few per argon2 worker thread keeps the pool busy. */
const REGISTER_CONCURRENCY = 8;

export interface SetupAccountsOptions {
  plan: BenchPlan;
  accounts: BenchAccounts;
  dataDir: string;
  cores: CorePlan;
  openFiles: number;
  log: (line: string) => void;
  /** Register on PostgreSQL + Redis (the multi-node scenario's own accounts) instead of SQLite. */
  backend?: ParleyBackend;
}

/**
 * Registers the run's accounts on a set-up server over the run's data directory; the measured
 * servers open the same directory later, so the tokens stay valid. Registration is set-up, not
 * a measurement: the server may use every core for argon2 (given explicitly, as it would
 * otherwise inherit the orchestrator's pinning to the generator core).
 */
export async function setupAccounts(o: SetupAccountsOptions): Promise<BenchResults["registration"]> {
  const count = Math.max(o.plan.clients, o.plan.stormLogins);
  const where = o.backend ? " on PostgreSQL" : "";
  o.log(`registering ${count} Parley accounts${where} (argon2id, ${REGISTER_CONCURRENCY} at a time)`);
  const server = await startParley({
    tls: false,
    dataDir: o.dataDir,
    pin: pinPrefix(o.cores, o.cores.allCores),
    openFiles: o.openFiles,
    ...(o.backend ? { backend: o.backend, label: "parley (set-up)" } : {}),
  });
  try {
    const r = await o.accounts.register(server.httpUrl, count, REGISTER_CONCURRENCY);
    if (r.failed > 0) throw new Error(`${r.failed} registrations failed: ${r.samples.join("; ")}`);
    o.log(
      `registered ${r.count} accounts${where} in ${(r.durationMs / 1000).toFixed(1)} s (${r.perS.toFixed(1)}/s)`,
    );
    const { latenciesMs: _, ...summary } = r;
    return summary;
  } finally {
    await server.stop();
  }
}
