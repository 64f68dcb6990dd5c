import { readdirSync, readFileSync } from 'node:fs';

/** Our direct children by /proc: after every program stopped, these are orphans we adopted. */
export function childPids(parent = process.pid): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // Fields after the last ')' (the command name may hold spaces and parens): state ppid ...
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === parent && rest[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // it exited meanwhile
    }
  }
  return pids;
}

/**
 * SPEC §4: no process of the container is left behind. Whatever still hangs off ringmaster once
 * every program has stopped (daemons that left their group, adopted orphans) is SIGKILLed, and
 * we wait (briefly, bounded) until the reaper has collected them.
 */
export async function killLeftoverChildren(log: (text: string) => void, waitMs = 1000): Promise<void> {
  const leftovers = childPids();
  if (leftovers.length === 0) return;
  for (const pid of leftovers) {
    log(`killing leftover process ${pid} with SIGKILL`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const until = Date.now() + waitMs;
  while (Date.now() < until && childPids().length > 0) await new Promise((r) => setTimeout(r, 20));
}
