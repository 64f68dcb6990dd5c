import type { BackoffPolicy } from '../config/types';

/** The longest delay a Node timer holds (config/units.ts's MAX_DURATION_MS; supervisor/ does not import config code). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Delay before the next start after `streak` consecutive failures (1 = the first): `initial`
 * doubling per failure up to `max`, with ±20% jitter so a fleet of crashing programs spreads out.
 */
export function backoffDelay(policy: BackoffPolicy, streak: number, random: () => number = Math.random): number {
  const exp = Math.min(Math.max(streak - 1, 0), 30);
  const base = Math.min(policy.initialMs * 2 ** exp, policy.maxMs);
  const jitter = 1 + (random() * 0.4 - 0.2);
  // +20% of a max near the timer limit would overflow it (and fire after 1 ms): never past it.
  return Math.min(Math.round(base * jitter), MAX_TIMER_MS);
}
