// CPU and memory of programs, sampled when asked (a /metrics scrape, `ctl status`): no timer.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';

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
 * architecture (sysconf(_SC_CLK_TCK) returns it). pidusage asks `getconf` for it and for the page
 * size through /bin/sh, which a distroless image does not have (it then prints an error on our
 * stderr and guesses the page size): on Linux we read /proc ourselves and need neither.
 */
const CLK_TCK = 100;
const HAS_PROC = existsSync('/proc/self/stat');
export const PAGE_SIZE = HAS_PROC ? pageSize() : 4096;

/** AT_PAGESZ from our own auxiliary vector: the kernel's page size, exact (4K, 16K or 64K). */
function pageSize(): number {
  try {
    const auxv = readFileSync('/proc/self/auxv');
    for (let i = 0; i + 16 <= auxv.length; i += 16) {
      if (auxv.readBigUInt64LE(i) === 6n) return Number(auxv.readBigUInt64LE(i + 8)); // AT_PAGESZ
    }
  } catch {
    // unreadable: the common size
  }
  return 4096;
}

interface Previous {
  ticks: number;
  /** Start time of the process in ticks since boot: a reused pid has another. */
  start: number;
  at: number;
}
const previous = new Map<number, Previous>();
/** A pid not sampled for this long is forgotten (the history stays bounded). */
const FORGET_MS = 10 * 60_000;
const buffer = Buffer.alloc(4096);

/** Usage of each live pid; a pid that is gone (or unreadable) is left out. */
export async function sampleUsage(pids: readonly number[]): Promise<Map<number, Usage>> {
  const live = pids.filter((p) => p > 0);
  const out = new Map<number, Usage>();
  if (live.length === 0) return out;
  if (!HAS_PROC) return samplePidusage(live);
  const now = Date.now();
  // /proc files are made on read, from memory: one synchronous read of each stat file into a
  // reused buffer costs ~20 µs, far less than readFile's trips through libuv's thread pool
  // (a scrape of 100 programs stays around 2 ms).
  const uptime = parseFloat(readProcFile('/proc/uptime') ?? '0');
  for (const pid of live) {
    const u = readProc(pid, uptime, now);
    if (u) out.set(pid, u);
  }
  for (const [pid, p] of previous) if (now - p.at > FORGET_MS) previous.delete(pid);
  return out;
}

function readProcFile(file: string): string | undefined {
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.toString('latin1', 0, n);
  } catch {
    return undefined; // the process exited meanwhile
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function readProc(pid: number, uptimeSeconds: number, now: number): Usage | undefined {
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // Fields after the last ')' (the command name may hold spaces and parens), from field 3 (state).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // utime + stime
  const start = Number(f[19]);
  const rssPages = Number(f[21]);
  const prev = previous.get(pid);
  let cpuPercent: number;
  if (prev && prev.start === start && now > prev.at) cpuPercent = ((ticks - prev.ticks) / CLK_TCK / ((now - prev.at) / 1000)) * 100;
  else {
    const lived = uptimeSeconds - start / CLK_TCK;
    cpuPercent = lived > 0 ? (ticks / CLK_TCK / lived) * 100 : 0;
  }
  previous.set(pid, { ticks, start, at: now });
  return { cpuPercent: Math.max(0, cpuPercent), cpuSeconds: ticks / CLK_TCK, memoryBytes: rssPages * PAGE_SIZE };
}

/** Where there is no /proc (a developer's macOS): pidusage and its `ps`, loaded only there. */
async function samplePidusage(pids: number[]): Promise<Map<number, Usage>> {
  const out = new Map<number, Usage>();
  try {
    const pidusage = require('pidusage') as typeof import('pidusage');
    const stats = await pidusage(pids);
    for (const [pid, s] of Object.entries(stats)) {
      if (s) out.set(Number(pid), { cpuPercent: s.cpu, cpuSeconds: s.ctime / 1000, memoryBytes: s.memory });
    }
  } catch {
    // gone meanwhile
  }
  return out;
}
