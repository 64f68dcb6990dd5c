// OOM attribution (SPEC §10): the OOM-kill count of the memory cgroup ringmaster and its programs
// run in (the container's, usually), so a SIGKILL from the kernel's OOM killer can be told from
// any other. cgroup v2: `oom_kill` of memory.events (hierarchical: kills in child cgroups count);
// v1: `oom_kill` of memory.oom_control (kernel 4.13+). The kernel counts the kill as it sends
// SIGKILL (mm/oom_kill.c), before the victim can exit, so the count has risen when we reap it.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';

/** The file holding `oom_kill N` for this process's memory cgroup, or null where there is none. */
export function findOomCountFile(proc = '/proc/self'): string | null {
  let cgroups: string;
  let mounts: string;
  try {
    cgroups = readFileSync(`${proc}/cgroup`, 'utf8');
    mounts = readFileSync(`${proc}/mountinfo`, 'utf8');
  } catch {
    return null;
  }
  // `0::/path` (v2) or `N:memory,…:/path` (v1; memory may share a hierarchy with others).
  let v1: string | undefined;
  let v2: string | undefined;
  for (const line of cgroups.split('\n')) {
    const [id, controllers, ...rest] = line.split(':');
    const p = rest.join(':');
    if (id === '0' && controllers === '') v2 = p;
    else if (controllers?.split(',').includes('memory')) v1 = p;
  }
  // mountinfo: `id parent dev ROOT MOUNTPOINT opts … - FSTYPE source SUPEROPTS`. A container
  // mounts its own cgroup as the root of the hierarchy (ROOT is its path on the host, or `/`
  // with a cgroup namespace), so the file is at MOUNTPOINT + (our path relative to ROOT).
  for (const line of mounts.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const f = line.slice(0, dash).split(' ');
    const [fstype, , superOpts = ''] = line.slice(dash + 3).split(' ');
    const root = unescape(f[3] ?? '');
    const mountpoint = unescape(f[4] ?? '');
    let file: string | null = null;
    if (fstype === 'cgroup2' && v2 !== undefined && v1 === undefined) file = within(mountpoint, root, v2, 'memory.events');
    else if (fstype === 'cgroup' && v1 !== undefined && superOpts.split(',').includes('memory')) file = within(mountpoint, root, v1, 'memory.oom_control');
    if (file && readCount(file) !== null) return file;
  }
  return null;
}

function within(mountpoint: string, root: string, cgroup: string, name: string): string | null {
  const rel = path.posix.relative(root, cgroup);
  // Outside the mounted part of the hierarchy: the mount's root is the nearest ancestor we see.
  return path.posix.join(mountpoint, rel.startsWith('..') ? '' : rel, name);
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

const buffer = Buffer.alloc(1024);

/** The `oom_kill` count in `file`, or null when it cannot be read or has none (a kernel before 4.13). */
export function readCount(file: string): number | null {
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const text = buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0));
    const m = /^oom_kill (\d+)$/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * Reads the count when asked (at each spawn and at each SIGKILL exit: no timer) and gives each
 * kill to one process: a SIGKILL is the OOM killer's when the count is above both its value when
 * that process started and the kills already given out (two victims at once get one each).
 */
export class OomCounter {
  private claimed: number;
  /** The count read in this turn of the event loop (100 programs started at once read it once);
   * a claim, at a SIGKILL exit, always reads it afresh. */
  private current: number | undefined;

  constructor(readonly file: string) {
    this.claimed = readCount(file) ?? 0;
  }

  count(): number {
    if (this.current === undefined) {
      this.current = readCount(this.file) ?? 0;
      queueMicrotask(() => (this.current = undefined));
    }
    return this.current;
  }

  claim(since: number): boolean {
    const given = Math.max(since, this.claimed);
    if ((readCount(this.file) ?? 0) <= given) return false;
    this.claimed = given + 1;
    return true;
  }
}

/** The counter of our memory cgroup, or undefined where there is none (no cgroup, no memory controller). */
export function oomCounter(): OomCounter | undefined {
  const file = findOomCountFile();
  return file ? new OomCounter(file) : undefined;
}
