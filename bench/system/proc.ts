import { readdir, readFile } from "node:fs/promises";

/**
 * Readers for Linux's /proc (proc(5)): a process's CPU time and resident memory, a core's busy
 * time, and the open-file limit a process actually got. Every reader returns null when the
 * file is missing (the process ended, or this is not Linux) rather than throwing.
 */

/** USER_HZ: the unit of /proc CPU times. It is 100 on every mainstream Linux architecture. */
const CLOCK_TICKS_PER_S = 100;

export interface ProcessSample {
  /** performance.now() when read. */
  readonly atMs: number;
  /** User + system CPU time of all the process's threads, in ms. */
  readonly cpuMs: number;
  readonly rssBytes: number;
  /** Peak resident set since the process started (VmHWM). */
  readonly peakRssBytes: number;
}

export async function readProcess(pid: number): Promise<ProcessSample | null> {
  let stat: string;
  let status: string;
  try {
    [stat, status] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      readFile(`/proc/${pid}/status`, "utf8"),
    ]);
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of proc(5) (utime, stime) are at 11 and 12 once fields 1-2 are dropped.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    atMs: performance.now(),
    cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_S,
    rssBytes: statusKb(status, "VmRSS") * 1024,
    peakRssBytes: statusKb(status, "VmHWM") * 1024,
  };
}

function statusKb(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
  return m ? Number(m[1]) : 0;
}

/** CPU busy share (0-1 per core) between two samples of the same process. */
export function cpuShare(a: ProcessSample, b: ProcessSample): number {
  const wall = b.atMs - a.atMs;
  return wall > 0 ? (b.cpuMs - a.cpuMs) / wall : 0;
}

export interface CoreTimes {
  readonly atMs: number;
  /** Jiffies per core id: busy and total. */
  readonly cores: ReadonlyMap<number, { busy: number; total: number }>;
}

export async function readCoreTimes(): Promise<CoreTimes | null> {
  let text: string;
  try {
    text = await readFile("/proc/stat", "utf8");
  } catch {
    return null;
  }
  const cores = new Map<number, { busy: number; total: number }>();
  for (const line of text.split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = (m[2] ?? "").split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    const total = v.slice(0, 8).reduce((s, x) => s + (Number.isFinite(x) ? x : 0), 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    cores.set(Number(m[1]), { busy: total - idle, total });
  }
  return { atMs: performance.now(), cores };
}

/** Busy share (0-1) of one core between two readings; NaN when unknown. */
export function coreBusy(a: CoreTimes, b: CoreTimes, core: number): number {
  const x = a.cores.get(core);
  const y = b.cores.get(core);
  if (!x || !y || y.total === x.total) return Number.NaN;
  return (y.busy - x.busy) / (y.total - x.total);
}

/** The soft "Max open files" limit a running process has, or null when unknown. */
export async function readOpenFileLimit(pid: number | "self"): Promise<number | null> {
  try {
    const text = await readFile(`/proc/${pid}/limits`, "utf8");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (!m) return null;
    return m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    return null;
  }
}

/** The cores this process may run on (Cpus_allowed_list), or null when unknown. */
export async function readAllowedCores(): Promise<number[] | null> {
  try {
    const text = await readFile("/proc/self/status", "utf8");
    const m = /^Cpus_allowed_list:\s+(.+)$/m.exec(text);
    return m ? parseCpuList(m[1] ?? "") : null;
  } catch {
    return null;
  }
}

/** "0-2,5" -> [0, 1, 2, 5] (the kernel's cpu list format). */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(",")) {
    const [a, b] = part.split("-").map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let i = a; i <= end; i++) out.push(i);
  }
  return out;
}

/**
 * On-CPU time of one thread in nanoseconds (the first field of /proc/<pid>/task/<tid>/schedstat,
 * the scheduler's own account, not rounded to clock ticks); `tid` defaults to the main thread,
 * which runs a Node process's event loop. Null when unknown.
 */
export async function readThreadCpuNs(pid: number, tid = pid): Promise<number | null> {
  try {
    const text = await readFile(`/proc/${pid}/task/${tid}/schedstat`, "utf8");
    const ns = Number(text.split(" ")[0]);
    return Number.isFinite(ns) ? ns : null;
  } catch {
    return null;
  }
}

/** On-CPU time in nanoseconds of all the live threads of a process, summed; null when unknown. */
export async function readProcessCpuNs(pid: number): Promise<number | null> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const times = await Promise.all(tids.map((tid) => readThreadCpuNs(pid, Number(tid))));
  return times.reduce<number>((sum, t) => sum + (t ?? 0), 0);
}

/** The pids of a process's children (/proc/<pid>/task/<tid>/children of each thread). */
export async function readChildPids(pid: number): Promise<number[]> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const lists = await Promise.all(
    tids.map((tid) => readFile(`/proc/${pid}/task/${tid}/children`, "utf8").catch(() => "")),
  );
  return lists.flatMap((l) =>
    l
      .split(" ")
      .filter((s) => s !== "")
      .map(Number),
  );
}

/** A process's command line, its arguments joined by spaces; null when it ended. */
export async function readCommandLine(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ").trim();
  } catch {
    return null;
  }
}
