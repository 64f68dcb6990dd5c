// CPU and memory of programs, sampled when asked (a /metrics scrape, `ctl status`): no timer.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import pidusage from 'pidusage';

export interface Usage {
  /** Share of one CPU since the previous sample of this pid (since its start on the first). */
  cpuPercent: number;
  /** User + system CPU time of the process so far. */
  cpuSeconds: number;
  /** Resident set size. */
  memoryBytes: number;
}

/**
 * Linux's USER_HZ, the unit of /proc/PID/stat times: fixed at 100 in the user ABI on every
 * architecture (sysconf(_SC_CLK_TCK) returns it). pidusage asks `getconf` for it through
 * /bin/sh, which a distroless image does not have (it then prints an error on our stderr and
 * guesses the page size too): on Linux we read /proc ourselves and need neither.
 */
const CLK_TCK = 100;
const HAS_PROC = existsSync('/proc/self/stat');

interface Previous {
  ticks: number;
  /** Start time of the process in ticks since boot: a reused pid has another. */
  start: number;
  at: number;
}
const previous = new Map<number, Previous>();
/** A pid not sampled for this long is forgotten (the history stays bounded). */
const FORGET_MS = 10 * 60_000;

/** Usage of each live pid; a pid that is gone (or unreadable) is left out. */
export async function sampleUsage(pids: readonly number[]): Promise<Map<number, Usage>> {
  const live = pids.filter((p) => p > 0);
  const out = new Map<number, Usage>();
  if (live.length === 0) return out;
  if (!HAS_PROC) return samplePidusage(live);
  const now = Date.now();
  const uptime = await readFile('/proc/uptime', 'latin1').then((t) => parseFloat(t), () => 0);
  await Promise.all(live.map(async (pid) => {
    const u = await readProc(pid, uptime, now);
    if (u) out.set(pid, u);
  }));
  for (const [pid, p] of previous) if (now - p.at > FORGET_MS) previous.delete(pid);
  return out;
}

async function readProc(pid: number, uptimeSeconds: number, now: number): Promise<Usage | undefined> {
  let stat: string;
  let status: string;
  try {
    [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'latin1'), readFile(`/proc/${pid}/status`, 'latin1')]);
  } catch {
    return undefined; // it exited meanwhile
  }
  // Fields after the last ')' (the command name may hold spaces and parens): state is field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // utime + stime
  const start = Number(f[19]);
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
  const prev = previous.get(pid);
  let cpuPercent: number;
  if (prev && prev.start === start && now > prev.at) cpuPercent = ((ticks - prev.ticks) / CLK_TCK / ((now - prev.at) / 1000)) * 100;
  else {
    const lived = uptimeSeconds - start / CLK_TCK;
    cpuPercent = lived > 0 ? (ticks / CLK_TCK / lived) * 100 : 0;
  }
  previous.set(pid, { ticks, start, at: now });
  return { cpuPercent: Math.max(0, cpuPercent), cpuSeconds: ticks / CLK_TCK, memoryBytes: rss ? Number(rss[1]) * 1024 : 0 };
}

/** Where there is no /proc (a developer's macOS): pidusage and its `ps`. */
async function samplePidusage(pids: number[]): Promise<Map<number, Usage>> {
  const out = new Map<number, Usage>();
  try {
    const stats = await pidusage(pids);
    for (const [pid, s] of Object.entries(stats)) {
      if (s) out.set(Number(pid), { cpuPercent: s.cpu, cpuSeconds: s.ctime / 1000, memoryBytes: s.memory });
    }
  } catch {
    // gone meanwhile
  }
  return out;
}
