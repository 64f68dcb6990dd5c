import { trySignal } from '../signal-util';
import type { Log } from '../types';
import { descendantPids } from './proc';

/**
 * SPEC §4: no process of the container is left behind. Whatever still hangs off ringmaster once
 * every program has stopped (daemons that left their group, adopted orphans, and their own
 * children) is SIGKILLed. Killing one generation used to leave the next: an orphan's child is
 * adopted only once its parent dies (`setsid sh -c 'sleep 311 & exec sleep 312'` left `sleep 311`,
 * issue #12, 12). So every descendant is killed, again and again as new ones are adopted, until
 * none is left or `waitMs` has passed.
 */
export async function killLeftoverChildren(log: Log, waitMs = 2000): Promise<void> {
  const until = Date.now() + waitMs;
  const killed = new Set<number>();
  for (let leftovers = descendantPids(); leftovers.length > 0 && Date.now() < until; leftovers = descendantPids()) {
    for (const pid of leftovers) {
      // One line per process is debug (SPEC §3: per-orphan lines); the count below is the warning.
      if (!killed.has(pid)) log(`killing leftover process ${pid} with SIGKILL`, 'debug');
      killed.add(pid);
      trySignal(pid, 'SIGKILL');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (killed.size > 0) log(`killed ${killed.size} leftover process${killed.size === 1 ? '' : 'es'} outside every program's process group`, 'warn');
}
