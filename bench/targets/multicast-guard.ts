import type { Child } from "../system/child.js";

/**
 * Parley logs its effective configuration (`"event":"config"`) before it opens any socket. A
 * server whose configuration would advertise it over mDNS on the machine's real interfaces is
 * killed on sight, before it listens: benchmark traffic stays on loopback (shared/DESIGN.md).
 */
export interface MulticastGuard {
  /** The PARLEY_MDNS value seen, or null before the config line (or for a server without it). */
  readonly seen: () => unknown;
  readonly refused: () => boolean;
  dispose(): void;
}

export function guardMulticast(child: Pick<Child, "onLine" | "stop">): MulticastGuard {
  let seen: unknown = null;
  const dispose = child.onLine((line) => {
    const config = configOf(line);
    if (!config || !("PARLEY_MDNS" in config)) return;
    seen = config.PARLEY_MDNS;
    if (seen !== "off") void child.stop(0);
  });
  return {
    seen: () => seen,
    refused: () => seen !== null && seen !== "off",
    dispose,
  };
}

function configOf(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const entry = JSON.parse(line) as { event?: unknown; config?: unknown };
    return entry.event === "config" && typeof entry.config === "object" && entry.config !== null
      ? (entry.config as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
