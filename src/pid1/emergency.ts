import { trySignal } from '../signal-util';

/**
 * The failsafe's synchronous last act, for both modes (SPEC §4: if ringmaster itself fails, its
 * programs go down with it): TERM to every target, up to `graceMs` for them to go, then SIGKILL
 * to what is left. A target is a kill(2) target: -pgid for a process group, a pid for one process.
 * `targets` is asked again each time, so what was found meanwhile is included. Returns the
 * targets that had to be SIGKILLed (for the kill reason: `failsafe`).
 */
export function emergencyStop(targets: () => number[], graceMs = 1000): number[] {
  for (const t of targets()) trySignal(t, 'SIGTERM');
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + graceMs;
  while (Date.now() < until && targets().some((t) => trySignal(t, 0))) Atomics.wait(sleeper, 0, 0, 10);
  return targets().filter((t) => trySignal(t, 'SIGKILL'));
}
