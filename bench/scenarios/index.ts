import type { BenchPlan } from "../plan.js";
import { cluster } from "./cluster.js";
import { crypto } from "./crypto.js";
import { fanout } from "./fanout.js";
import { idle } from "./idle.js";
import { loginStorm } from "./login-storm.js";
import { moderate } from "./moderate.js";
import { search } from "./search.js";
import { tls } from "./tls.js";
import type { Scenario } from "./types.js";
import { web } from "./web.js";

/** Every scenario, in the order of the issue; `--scenarios` picks among their ids. */
export const SCENARIOS: readonly Scenario[] = [
  idle,
  fanout,
  tls,
  moderate,
  loginStorm,
  crypto,
  web,
  cluster,
  search,
];

export function selectScenarios(plan: BenchPlan): Scenario[] {
  const known = new Set(SCENARIOS.map((s) => s.id));
  for (const id of plan.scenarios) {
    if (!known.has(id))
      throw new TypeError(`--scenarios: unknown scenario "${id}" (${[...known].join(", ")})`);
  }
  return SCENARIOS.filter((s) => plan.scenarios.includes(s.id));
}
