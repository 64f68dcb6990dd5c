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

/** Every live process below `root` (children, their children, …), from one pass over /proc. */
export function descendantPids(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z') continue;
      const ppid = Number(rest[1]);
      const list = children.get(ppid);
      if (list) list.push(Number(entry));
      else children.set(ppid, [Number(entry)]);
    } catch {
      // it exited meanwhile
    }
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    for (const pid of children.get(todo.pop()!) ?? []) {
      out.push(pid);
      todo.push(pid);
    }
  }
  return out;
}

/**
 * SPEC §4: no process of the container is left behind. Whatever still hangs off ringmaster once
 * every program has stopped (daemons that left their group, adopted orphans, and their own
 * children) is SIGKILLed. Killing one generation used to leave the next: an orphan's child is
 * adopted only once its parent dies (`setsid sh -c 'sleep 311 & exec sleep 312'` left `sleep 311`,
 * issue #12, 12). So every descendant is killed, again and again as new ones are adopted, until
 * none is left or `waitMs` has passed; then we wait (bounded) until the reaper has collected them.
 */
export async function killLeftoverChildren(log: (text: string) => void, waitMs = 2000): Promise<void> {
  const until = Date.now() + waitMs;
  const killed = new Set<number>();
  for (let leftovers = descendantPids(); leftovers.length > 0 && Date.now() < until; leftovers = descendantPids()) {
    for (const pid of leftovers) {
      if (!killed.has(pid)) log(`killing leftover process ${pid} with SIGKILL`);
      killed.add(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
