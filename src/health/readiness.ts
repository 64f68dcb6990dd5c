import type { ProcessSnapshot } from '../types';

/**
 * SPEC §6 /readyz: ready when every autostarted program is RUNNING and passes its healthcheck
 * (if it has one), or has ended with an expected code and is not to be restarted (a finished
 * migration). The reasons when not. `detail` adds what a failing check printed: that output can
 * hold secrets, so the open endpoints leave it out.
 */
export function readiness(processes: readonly ProcessSnapshot[], shuttingDown: boolean, detail = false): { ready: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (shuttingDown) reasons.push('ringmaster is shutting down');
  for (const p of processes) {
    if (!p.autostart) continue;
    if (p.state === 'RUNNING') {
      const health = p.health;
      if (!p.hasHealthcheck || health?.status === 'healthy') continue;
      reasons.push(`${p.namespec} is RUNNING but ${health?.status ?? 'not checked yet'}${detail && health?.output ? ` (${health.output})` : ''}`);
      continue;
    }
    if (p.waiting) {
      reasons.push(`${p.namespec} is ${p.waiting}`);
      continue;
    }
    if (p.state === 'EXITED' && p.restartAt === null && p.expected) continue;
    reasons.push(`${p.namespec} is ${p.state}${p.description ? ` (${p.description})` : ''}`);
  }
  return { ready: reasons.length === 0, reasons };
}
