import { trySignal } from '../signal-util';
import { childPids } from './proc';

/**
 * SPEC §4: no process of the container is left behind. Whatever still hangs off ringmaster once
 * every program has stopped (daemons that left their group, adopted orphans) is SIGKILLed, and
 * we wait (briefly, bounded) until the reaper has collected them.
 */
export async function killLeftoverChildren(log: (text: string) => void, waitMs = 1000): Promise<void> {
  const leftovers = childPids({ zombies: false }) ?? [];
  if (leftovers.length === 0) return;
  for (const pid of leftovers) {
    log(`killing leftover process ${pid} with SIGKILL`);
    trySignal(pid, 'SIGKILL');
  }
  const until = Date.now() + waitMs;
  while (Date.now() < until && (childPids({ zombies: false }) ?? []).length > 0) await new Promise((r) => setTimeout(r, 20));
}
