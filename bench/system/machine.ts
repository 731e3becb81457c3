import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, cpus, hostname, loadavg, release, totalmem, type } from "node:os";

/** What the figures were measured on; the report prints it above every table. */
export interface MachineInfo {
  cpuModel: string;
  logicalCores: number;
  virtualized: boolean;
  memoryBytes: number;
  os: string;
  node: string;
  hostname: string;
  /** 1-minute load average when the run started and ended: other work on the box skews figures. */
  loadAtStart: number;
  loadAtEnd: number | null;
  versions: Record<string, string>;
}

export async function describeMachine(): Promise<MachineInfo> {
  const list = cpus();
  let virtualized = false;
  try {
    virtualized = /^flags\s*:.*\bhypervisor\b/m.test(await readFile("/proc/cpuinfo", "utf8"));
  } catch {
    // not Linux
  }
  return {
    cpuModel: list[0]?.model.trim() ?? "unknown",
    logicalCores: list.length,
    virtualized,
    memoryBytes: totalmem(),
    os: `${type()} ${release()} ${arch()}`,
    node: process.version,
    hostname: hostname(),
    loadAtStart: loadavg()[0] ?? Number.NaN,
    loadAtEnd: null,
    versions: packageVersions(["ws", "socket.io", "socket.io-client", "fastify", "typescript"]),
  };
}

export function currentLoad(): number {
  return loadavg()[0] ?? Number.NaN;
}

function packageVersions(names: readonly string[]): Record<string, string> {
  const require = createRequire(import.meta.url);
  const out: Record<string, string> = {};
  for (const name of names) {
    try {
      // Resolve the entry point and walk up to package.json: some packages do not export it.
      const entry = require.resolve(name);
      const root = entry.slice(
        0,
        entry.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}/`.length,
      );
      out[name] = (require(`${root}package.json`) as { version: string }).version;
    } catch {
      out[name] = "not installed";
    }
  }
  return out;
}
